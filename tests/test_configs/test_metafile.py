"""configs/metafile.yml lists every config.

With the params and FLOPs the code really has.
"""
import glob
import os.path as osp

import pytest
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config
from mmpose.registry import MODELS

from softgate_mmpose.apis.metafile import read_metafile
from ..constants import REPO_ROOT

ENTRIES = read_metafile(osp.join(REPO_ROOT, 'configs', 'metafile.yml'))
MODELS_BY_CONFIG = {m['Config']: m for m in ENTRIES}


def test_every_config_is_listed_once():
    configs = sorted(
        osp.relpath(p, REPO_ROOT)
        for p in glob.glob(osp.join(REPO_ROOT, 'configs', '*', '*.py')))
    assert sorted(MODELS_BY_CONFIG) == configs
    assert len(MODELS_BY_CONFIG) == len(ENTRIES)
    for config, model in MODELS_BY_CONFIG.items():
        assert model['Name'] == osp.splitext(osp.basename(config))[0]
        assert model['In Collection'] == 'SoftGatedHourglass'


@pytest.mark.slow
@pytest.mark.parametrize('config', sorted(MODELS_BY_CONFIG))
def test_params_and_flops_match_the_code(config):
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    model = MODELS.build(cfg.model).eval()
    meta = MODELS_BY_CONFIG[config]['Metadata']
    width, height = cfg.codec['input_size']
    assert meta['Input Size'] == f'{width}x{height}'
    assert meta['Parameters'] == sum(p.numel() for p in model.parameters())
    # backbone + head, as MMPose's get_flops measures
    model.forward = model._forward
    info = get_model_complexity_info(
        model,
        input_shape=(3, height, width),
        show_table=False,
        show_arch=False)
    assert meta['FLOPs'] == info['flops']
