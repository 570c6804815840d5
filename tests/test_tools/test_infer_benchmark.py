# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""tools/analysis_tools/infer_benchmark.py runs the inferencer on the MPII
sample in PyTorch, ONNX Runtime and OpenVINO and prints its table (the figures
themselves are not compared with limits: no timed tests)."""
import os.path as osp

import pytest

from ..constants import MPII_ALIAS


@pytest.mark.slow
@pytest.mark.parametrize('backend', ['pytorch', 'onnxruntime', 'openvino'])
def test_images_per_second_per_backend(load_tool, capsys, mpii_images,
                                       mpii_tiny_ckpt, tiny_onnx,
                                       tiny_cfg_args, backend):
    tool = load_tool('analysis_tools/infer_benchmark.py')
    folder = osp.dirname(mpii_images[0])
    weights = (
        mpii_tiny_ckpt if backend == 'pytorch' else tiny_onnx(
            'tiny_dynamic.onnx', dynamic_batch=True))
    rows = tool.main([
        MPII_ALIAS, folder, '--weights', weights, '--num-images', '3',
        '--batch-sizes', '1', '3', '--device', 'cpu', '--backend', backend,
        *tiny_cfg_args
    ])
    assert [(r['backend'], r['batch_size']) for r in rows] == [(backend, 1),
                                                               (backend, 3)]
    for r in rows:
        assert r['images_per_s'] == pytest.approx(3 / r['seconds'])
    out = capsys.readouterr().out
    assert f'backend: {backend}' in out and 'images: 3' in out
    lines = [line.split() for line in out.splitlines()]
    table = [cells for cells in lines if cells and cells[0] in ('1', '3')]
    assert [int(cells[0]) for cells in table] == [1, 3]
    assert table[0][3] == '1.00x'  # the first batch size is the reference
