# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""tools/analysis_tools/infer_benchmark.py runs and prints its table (the
figures themselves are not asserted: no timed tests)."""
import os.path as osp


def test_benchmark_prints_images_per_second(capsys, load_tool, mpii_images,
                                            tiny_cfg_args):
    folder = osp.dirname(mpii_images[0])
    module = load_tool('analysis_tools/infer_benchmark.py')
    rows = module.main([
        'softgate-hg4_mpii', folder, '--num-images', '3', '--batch-sizes', '1', '3',
        '--device', 'cpu', *tiny_cfg_args
    ])
    assert [r['batch_size'] for r in rows] == [1, 3]
    assert all(r['images_per_s'] > 0 for r in rows)
    out = capsys.readouterr().out
    assert 'images/s' in out and 'images: 3' in out
