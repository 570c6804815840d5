# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""tools/analysis_tools/infer_benchmark.py runs and prints its table (the
figures themselves are not asserted: no timed tests)."""
import importlib.util
import os.path as osp

from tests.test_apis.inference_helpers import MPII_ALIAS, TINY, mpii_images
from .conftest import TOOLS


def test_benchmark_prints_images_per_second(capsys):
    folder = osp.dirname(mpii_images()[0])
    spec = importlib.util.spec_from_file_location(
        'infer_benchmark',
        osp.join(TOOLS, 'analysis_tools', 'infer_benchmark.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.main([
        MPII_ALIAS, folder, '--num-images', '3', '--batch-sizes', '1', '3',
        '--device', 'cpu', '--cfg-options'
    ] + [f'{k}={v}'.replace(' ', '') for k, v in TINY.items()])
    assert [r['batch_size'] for r in rows] == [1, 3]
    assert all(r['images_per_s'] > 0 for r in rows)
    out = capsys.readouterr().out
    assert 'images/s' in out and 'images: 3' in out
