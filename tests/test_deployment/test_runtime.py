# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""softgate_mmpose.deployment's runtimes: one export runs in ONNX Runtime
and OpenVINO to PyTorch's values (fixed and dynamic batch, 1 and 2
threads); missing, corrupt and wrong model files are refused naming the
file."""
import numpy as np
import pytest
import torch

from softgate_mmpose import deployment
from softgate_mmpose.models import switch_to_deploy
from ..constants import DEFAULT_CONFIG, TINY_CFG_OPTIONS

pytest.importorskip('onnxruntime')
pytest.importorskip('openvino')

RUNTIMES = list(deployment.RUNTIMES)
#: Relative to the heatmap peak: the runtimes' float32 kernels sum in other
#: orders (and with other thread splits) than PyTorch's.
TOL = deployment.DEFAULT_TOLERANCE


@pytest.fixture(scope='module')
def tiny(tmp_path_factory, randomize_norms_and_gates):
    """The tiny model with random norms and gates, deployed, and its
    dynamic-batch export."""
    model = deployment.build_model(
        DEFAULT_CONFIG, deploy=False, cfg_options=TINY_CFG_OPTIONS)
    randomize_norms_and_gates(model.pose_model)
    switch_to_deploy(model.pose_model)
    path = str(tmp_path_factory.mktemp('runtime') / 'tiny.onnx')
    deployment.export_onnx(model, path, (1, 3, 64, 64), dynamic_batch=True)
    return model, path


@pytest.mark.parametrize('backend', RUNTIMES)
@pytest.mark.parametrize('threads', [1, 2])
def test_parity_with_pytorch(tiny, backend, threads):
    model, path = tiny
    session = deployment.create_session(path, backend, num_threads=threads)
    assert session.backend == backend
    assert [i.name for i in session.inputs] == ['input']
    assert session.output_names == ['heatmaps']
    assert session.inputs[0].shape == (None, 3, 64, 64)  # dynamic batch
    for batch in (1, 3):
        x = np.random.default_rng(batch).standard_normal(
            (batch, 3, 64, 64)).astype(np.float32)
        (out, ) = session(x)
        expected = deployment.torch_outputs(model, x)
        assert out.shape == (batch, 16, 16, 16)
        assert deployment.relative_difference([out], expected) <= TOL
        assert np.abs(expected[0]).max() > 0  # a real comparison
    # the same session, a second call: outputs are not overwritten views
    first = session(x)[0].copy()
    session(np.zeros_like(x))
    assert np.array_equal(session(x)[0], first)


@pytest.mark.parametrize('backend', RUNTIMES)
def test_verify_uses_the_runtime(tiny, backend):
    model, path = tiny
    assert deployment.verify(
        model, path, (2, 3, 64, 64), backend=backend) <= TOL


def test_relative_difference():
    a = [np.array([1., -4.]), np.array([2.])]
    assert deployment.relative_difference(a, a) == 0
    assert deployment.relative_difference(
        [np.array([1., -3.])], [np.array([1., -4.])]) == pytest.approx(0.25)
    assert deployment.relative_difference(a, a[:1]) == float('inf')
    assert deployment.relative_difference([np.zeros(3)],
                                          [np.zeros(2)]) == float('inf')


@pytest.mark.parametrize('backend', RUNTIMES)
def test_bad_model_files(tmp_path, backend):
    label = deployment.RUNTIMES[backend]
    missing = tmp_path / 'absent.onnx'
    with pytest.raises(FileNotFoundError, match=f'{label}.*absent.onnx'):
        deployment.create_session(str(missing), backend)
    corrupt = tmp_path / 'corrupt.onnx'
    corrupt.write_bytes(b'\x08\x07not a protobuf' * 10)
    with pytest.raises(
            ValueError, match=rf'{label} cannot load .*corrupt\.onnx'):
        deployment.create_session(str(corrupt), backend)
    # a PyTorch checkpoint given as the model
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': {'w': torch.zeros(2)}}, ckpt)
    with pytest.raises(ValueError, match=rf'{label} cannot load .*model\.pth'):
        deployment.create_session(str(ckpt), backend)


def test_unknown_runtime(tiny):
    with pytest.raises(ValueError, match="unknown runtime 'tensorrt'"):
        deployment.create_session(tiny[1], 'tensorrt')


def test_select_backend():
    select = deployment.select_backend
    assert select('m.onnx') == 'onnxruntime'
    assert select('m.xml') == 'openvino'
    assert select('m.pth') == select(None) == 'pytorch'
    assert select('m.onnx', 'openvino') == 'openvino'
    with pytest.raises(ValueError, match='needs the exported model'):
        select(None, 'openvino')
    with pytest.raises(ValueError, match='needs the exported model'):
        select('m.xml', 'onnxruntime')
    with pytest.raises(ValueError, match='is an exported model'):
        select('m.onnx', 'pytorch')
    with pytest.raises(ValueError, match='backend must be one of'):
        select('m.onnx', 'tensorrt')


def test_openvino_reads_its_ir(tiny, tmp_path):
    """An OpenVINO IR (.xml + .bin) of the export runs like the .onnx."""
    import openvino as ov
    model, path = tiny
    xml = str(tmp_path / 'tiny.xml')
    ov.save_model(ov.Core().read_model(path), xml, compress_to_fp16=False)
    assert deployment.select_backend(xml) == 'openvino'
    assert deployment.verify(
        model, xml, (2, 3, 64, 64), backend='openvino') <= TOL
