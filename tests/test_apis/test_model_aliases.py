# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Resolution of the plugin's aliases (``Alias`` fields of
configs/metafile.yml), config names, MMPose's model names and config
trees."""
import os.path as osp

import pytest
from mmengine.config import Config

from softgate_mmpose.apis import (find_mmpose_model, get_config_root,
                                  list_model_aliases, read_metafile,
                                  resolve_model)
from softgate_mmpose.apis.model_aliases import METAFILE, WEIGHTS_DIR_ENV
from ..constants import DEFAULT_CONFIG, LSP_ALIAS, MPII_ALIAS, REPO_ROOT

#: The aliases the plugin has always had (README, scripts): they must keep
#: working.
KNOWN_ALIASES = {
    MPII_ALIAS:
    'mpii/td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py',
    'softgate-hg2_mpii':
    'mpii/td-hm_softgate-hg2-c144_1xb24-200e_mpii-256x256.py',
    'softgate-hg8_mpii':
    'mpii/td-hm_softgate-hg8-c256_1xb24-200e_mpii-256x256.py',
    'hourglass-hg8_mpii':
    'mpii/td-hm_hourglass-hg8-c256_1xb24-200e_mpii-256x256.py',
    LSP_ALIAS:
    'lsp/td-hm_softgate-hg4-c144_1xb24-60e_mpii-to-lsp-256x256.py',
    'softgate-hg4-ref_mpii':
    'mpii/td-hm_softgate-ref-sgsc-hg4-c144_mpii-256x256.py',
    'hourglass-hg8-ref_mpii':
    'mpii/td-hm_softgate-ref-shg-hg8-c256_mpii-256x256.py',
}


def test_aliases_come_from_the_metafile():
    aliases = list_model_aliases()
    root = get_config_root()
    assert aliases == {
        a: osp.join(root, rel)
        for a, rel in sorted(KNOWN_ALIASES.items())
    }
    for alias, path in aliases.items():
        assert osp.isfile(path), f'{alias}: {path}'
    assert aliases[MPII_ALIAS] == DEFAULT_CONFIG
    assert Config.fromfile(aliases[LSP_ALIAS]).model.head.out_channels == 14
    # every alias is an Alias field of a metafile entry, unique across entries
    entries = read_metafile(osp.join(root, METAFILE))
    fields = [e['Alias'] for e in entries if 'Alias' in e]
    assert sorted(fields) == sorted(KNOWN_ALIASES)


def test_alias_added_to_a_metafile_is_resolved(tmp_path, monkeypatch):
    """No table in code: a new Alias field of the metafile is a new alias."""
    import softgate_mmpose.apis.model_aliases as model_aliases
    root = tmp_path / 'repo' / 'configs'
    (root / 'mpii').mkdir(parents=True)
    (root / 'mpii' / 'mine.py').write_text('# config\n')
    (root / METAFILE).write_text(
        'Models:\n- Name: mine\n  Config: configs/mpii/mine.py\n'
        '  Alias: [mine-a, mine-b]\n')
    monkeypatch.setattr(model_aliases, 'get_config_root', lambda: str(root))
    assert resolve_model('mine-b') == (str(root / 'mpii' / 'mine.py'), None)
    assert set(list_model_aliases()) == {'mine-a', 'mine-b'}


def test_resolve_alias_name_and_path(monkeypatch):
    assert resolve_model('softgate-hg4_mpii') == (DEFAULT_CONFIG, None)
    name = osp.splitext(osp.basename(DEFAULT_CONFIG))[0]
    assert resolve_model(name) == (DEFAULT_CONFIG, None)
    assert resolve_model(name + '.py') == (DEFAULT_CONFIG, None)
    monkeypatch.chdir(REPO_ROOT)
    rel = osp.relpath(DEFAULT_CONFIG, REPO_ROOT)
    assert resolve_model(rel) == (DEFAULT_CONFIG, None)
    cfg = Config(dict(model=dict(type='TopdownPoseEstimator')))
    assert resolve_model(cfg)[0] is cfg


def test_mmpose_names_resolve_through_its_metafiles():
    """MMPose's aliases ('human') and model names, as its inferencers
    resolve them: its config and the weights its metafile publishes."""
    cfg, weights = resolve_model('human')
    assert cfg.endswith(
        osp.join('configs', 'body_2d_keypoint', 'rtmpose', 'body8',
                 'rtmpose-m_8xb256-420e_body8-256x192.py'))
    assert osp.isfile(cfg) and weights.startswith('https://')
    name = 'td-hm_hourglass52_8xb64-210e_mpii-256x256'
    found = find_mmpose_model(name.upper())  # case-insensitive, as MMPose
    assert found is not None and found[0].endswith(name + '.py')
    url = 'https://example.org/w.pth'
    assert resolve_model(name, url)[1] == url
    assert find_mmpose_model('softgate-hg4_mpii') is None


def test_unknown_model():
    with pytest.raises(ValueError, match='softgate-hg4_lsp'):
        resolve_model('no-such-model')
    with pytest.raises(FileNotFoundError, match='Config file not found'):
        resolve_model('configs/mpii/no_such_config.py')


def test_weights(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match='Checkpoint file not found'):
        resolve_model('softgate-hg4_mpii', str(tmp_path / 'x.pth'))
    url = 'https://example.org/w.pth'
    assert resolve_model('softgate-hg4_mpii', url)[1] == url
    # an alias without weights takes <alias>.pth from the weights directory
    (tmp_path / 'softgate-hg4_mpii.pth').write_bytes(b'')
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(tmp_path))
    assert resolve_model(MPII_ALIAS)[1] == str(tmp_path / f'{MPII_ALIAS}.pth')
    assert resolve_model('softgate-hg4_lsp')[1] is None  # no such file
    mine = tmp_path / 'mine.pth'
    mine.write_bytes(b'')
    assert resolve_model('softgate-hg4_mpii', str(mine))[1] == str(mine)


def _write_metafile(root):
    root.mkdir(parents=True, exist_ok=True)
    (root / METAFILE).write_text('Models: []\n')


def test_config_root_of_installed_package(tmp_path):
    """An installed package: configs under softgate_mmpose/.mim/configs;
    a foreign site-packages/configs beside it is not taken."""
    package = tmp_path / 'site-packages' / 'softgate_mmpose'
    (tmp_path / 'site-packages' / 'configs' / 'mpii').mkdir(parents=True)
    _write_metafile(package / '.mim' / 'configs')
    assert get_config_root(str(package)) == str(package / '.mim' / 'configs')


def test_config_root_of_checkout(tmp_path):
    package = tmp_path / 'repo' / 'softgate_mmpose'
    package.mkdir(parents=True)
    _write_metafile(tmp_path / 'repo' / 'configs')
    assert get_config_root(str(package)) == str(tmp_path / 'repo' / 'configs')
    assert get_config_root() == osp.join(REPO_ROOT, 'configs')


def test_config_root_missing(tmp_path):
    package = tmp_path / 'softgate_mmpose'
    package.mkdir()
    with pytest.raises(FileNotFoundError, match='Cannot find the configs'):
        get_config_root(str(package))
