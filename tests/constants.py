"""Constants the tests share: repository paths, config names and option lists.

Helpers (functions) are fixtures in ``conftest.py``; only plain values live here, because
module-level code (parametrize lists, derived paths) needs them at import time.
"""
import os.path as osp

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: The real-photo samples shipped with the project (data/README.md).
SAMPLE_DATA = osp.join(REPO_ROOT, 'data')
TOOLS = osp.join(REPO_ROOT, 'tools')
DEFAULT_CONFIG = osp.join(REPO_ROOT, 'configs', 'mpii',
                          'td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py')
SYNTHETIC_CONFIG = osp.join(REPO_ROOT, 'configs', 'synthetic',
                            'td-hm_softgate-hg1-c64_1xb32-600it_synthetic-96x96.py')
MPII_ALIAS = 'softgate-hg4_mpii'

#: ``--cfg-options`` for one soft-gated stack of 16 channels: a training step takes a fraction
#: of a second.
TINY_MODEL = [
    'model.backbone.num_stacks=1', 'model.backbone.stack_channels=16',
    'model.backbone.depth=2', 'model.backbone.stem_channels=(8,16,16)',
    'model.head.num_stages=1'
]
