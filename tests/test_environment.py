"""The verified stack imports, and a config's custom_imports registers the plugin."""
import subprocess
import sys

import torch

from .conftest import DEFAULT_CONFIG, REPO_ROOT


def test_openmmlab_stack_imports():
    import mmcv
    import mmcv.ops
    import mmdet.apis  # noqa: F401
    import mmengine
    import mmpose.apis  # noqa: F401
    import mmpose.models  # noqa: F401

    assert mmcv.__version__ == '2.1.0'
    assert mmengine.__version__ == '0.10.7'
    # The compiled ops run (not only import): NMS keeps the higher-scoring of two overlapping boxes.
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [50., 50., 60., 60.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    _, keep = mmcv.ops.nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]


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
for name in ('SoftGatedStackedHourglass', 'SoftGatedHourglassModule', 'HierarchicalBlock',
             'PreActBottleneck', 'SoftGatedSkip'):
    assert MODELS.get(name) is not None, name
from mmengine.registry import init_default_scope
init_default_scope(cfg.default_scope)
model = MODELS.build(cfg.model)
print(type(model.backbone).__name__, type(model.head).__name__)
'''
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ['SoftGatedStackedHourglass', 'CPMHead']
