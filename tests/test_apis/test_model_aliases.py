# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Resolution of the plugin's aliases, config names and config trees."""
import os.path as osp

import pytest
from mmengine.config import Config

from softgate_mmpose.apis import (MODEL_ALIASES, get_config_root,
                                  list_model_aliases, resolve_model)
from softgate_mmpose.apis.model_aliases import WEIGHTS_DIR_ENV
from tests.conftest import DEFAULT_CONFIG, REPO_ROOT


def test_every_alias_has_its_config():
    aliases = list_model_aliases()
    assert set(aliases) == set(MODEL_ALIASES)
    assert {'softgate-hg4_mpii', 'softgate-hg4_lsp'} <= set(aliases)
    for alias, path in aliases.items():
        assert osp.isfile(path), f'{alias}: {path}'
    assert aliases['softgate-hg4_mpii'] == DEFAULT_CONFIG
    lsp = Config.fromfile(aliases['softgate-hg4_lsp'])
    assert lsp.model.head.out_channels == 14


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


def test_mmpose_names_pass_through():
    assert resolve_model('human') == ('human', None)


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
    assert resolve_model('softgate-hg4_mpii')[1] == str(
        tmp_path / 'softgate-hg4_mpii.pth')
    assert resolve_model('softgate-hg4_lsp')[1] is None  # no such file
    mine = tmp_path / 'mine.pth'
    mine.write_bytes(b'')
    assert resolve_model('softgate-hg4_mpii', str(mine))[1] == str(mine)


def _write_default_config(root):
    path = root / MODEL_ALIASES['softgate-hg4_mpii']
    path.parent.mkdir(parents=True)
    path.write_text('# config\n')


def test_config_root_of_installed_package(tmp_path):
    """An installed package: configs under softgate_mmpose/.mim/configs;
    a foreign site-packages/configs beside it is not taken."""
    package = tmp_path / 'site-packages' / 'softgate_mmpose'
    (tmp_path / 'site-packages' / 'configs' / 'mpii').mkdir(parents=True)
    _write_default_config(package / '.mim' / 'configs')
    assert get_config_root(str(package)) == str(package / '.mim' / 'configs')


def test_config_root_of_checkout(tmp_path):
    package = tmp_path / 'repo' / 'softgate_mmpose'
    package.mkdir(parents=True)
    _write_default_config(tmp_path / 'repo' / 'configs')
    assert get_config_root(str(package)) == str(tmp_path / 'repo' / 'configs')
    assert get_config_root() == osp.join(REPO_ROOT, 'configs')


def test_config_root_missing(tmp_path):
    package = tmp_path / 'softgate_mmpose'
    package.mkdir()
    with pytest.raises(FileNotFoundError, match='Cannot find the configs'):
        get_config_root(str(package))
