"""The OpenMMLab stack works together, and a config's custom_imports registers
the plugin.

The versions themselves are pinned and checked by ``tools/setup_env.sh``, not
here.
"""
import subprocess
import sys

import pytest
import torch

from .constants import DEFAULT_CONFIG, REPO_ROOT


def test_openmmlab_stack_imports():
    import mmcv.ops
    import mmdet.apis  # noqa: F401
    import mmpose.apis  # noqa: F401
    import mmpose.models  # noqa: F401

    # The compiled ops run (not only import): NMS keeps the higher-scoring of
    # two overlapping boxes.
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.],
                          [50., 50., 60., 60.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    _, keep = mmcv.ops.nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]


@pytest.mark.slow
def test_custom_imports_register_plugin_in_mmpose_registries():
    # A fresh interpreter, so that nothing but the config imports the plugin.
    code = f'''
import sys
from mmengine.config import Config
from mmpose.registry import MODELS
assert 'softgate_mmpose' not in sys.modules
cfg = Config.fromfile({DEFAULT_CONFIG!r})
assert cfg.custom_imports.imports == ['softgate_mmpose']
assert 'softgate_mmpose' in sys.modules
for name in ('SoftGatedStackedHourglass', 'SoftGatedHourglassModule',
             'HierarchicalBlock', 'PreActBottleneck', 'SoftGatedSkip'):
    assert MODELS.get(name) is not None, name
from mmengine.registry import init_default_scope
init_default_scope(cfg.default_scope)
model = MODELS.build(cfg.model)
print(type(model.backbone).__name__, type(model.head).__name__)
'''
    out = subprocess.run([sys.executable, '-c', code],
                         cwd=REPO_ROOT,
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ['SoftGatedStackedHourglass', 'CPMHead']


def test_onnx_and_onnxruntime_run_together():
    # onnx builds and checks a model, ONNX Runtime runs it on numpy arrays:
    # the deployment packages and numpy 1 (pinned in
    # requirements/runtime.txt) work together.
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node('Relu', ['x'], ['r']),
            helper.make_node('Add', ['r', 'x'], ['y'])
        ], 'relu_add',
        [helper.make_tensor_value_info('x', TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, [2, 3])])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8  # an IR version every supported ONNX Runtime reads
    onnx.checker.check_model(model)
    session = ort.InferenceSession(
        model.SerializeToString(), providers=['CPUExecutionProvider'])
    x = np.array([[-1., 0., 2.], [3., -4., 5.]], dtype=np.float32)
    (y, ) = session.run(None, {'x': x})
    np.testing.assert_array_equal(y, np.maximum(x, 0) + x)
