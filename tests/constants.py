"""Constants the tests share: repository paths, config names and option lists.

Helpers (functions) are fixtures in ``conftest.py``; only plain values live
here, because module-level code (parametrize lists, derived paths) needs them
at import time.
"""
import os.path as osp

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: The real-photo samples shipped with the project (data/README.md).
SAMPLE_DATA = osp.join(REPO_ROOT, 'data')
TOOLS = osp.join(REPO_ROOT, 'tools')
DEFAULT_CONFIG = osp.join(
    REPO_ROOT, 'configs', 'mpii',
    'td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py')
SYNTHETIC_CONFIG = osp.join(
    REPO_ROOT, 'configs', 'synthetic',
    'td-hm_softgate-hg1-c64_1xb32-600it_synthetic-96x96.py')
MPII_ALIAS = 'softgate-hg4_mpii'

LSP_ALIAS = 'softgate-hg4_lsp'

#: The tiny test model: one soft-gated stack of 16 channels, two hourglass
#: levels (a training step takes a fraction of a second). Tests that need
#: more stacks or other joints override single keys of TINY_BACKBONE.
TINY_BACKBONE = dict(
    num_stacks=1, stack_channels=16, depth=2, stem_channels=(8, 16, 16))
TINY_HEAD = dict(num_stages=1)
#: The tiny model as ``cfg_options`` of a plugin config (dotted keys).
TINY_CFG_OPTIONS = {
    **{
        f'model.backbone.{k}': v
        for k, v in TINY_BACKBONE.items()
    },
    **{
        f'model.head.{k}': v
        for k, v in TINY_HEAD.items()
    }
}
#: The tiny model as ``--cfg-options`` values of a tool.
TINY_MODEL = [f'{k}={v}'.replace(' ', '') for k, v in TINY_CFG_OPTIONS.items()]
