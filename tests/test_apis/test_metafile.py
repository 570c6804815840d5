# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The one metafile reader (softgate_mmpose/apis/metafile.py) on the
plugin's metafile, MMPose's model index and its metafiles, and bad files."""
import os
import os.path as osp

import pytest

from softgate_mmpose.apis import (get_config_root, list_model_aliases,
                                  read_metafile, read_models)
from softgate_mmpose.apis.metafile import (config_base, find_model,
                                           package_model_index)
from ..constants import REPO_ROOT

#: An MMPose config whose metafile publishes weights and an MPII result.
MMPOSE_HOURGLASS = osp.join('configs', 'body_2d_keypoint', 'topdown_heatmap',
                            'mpii', 'td-hm_hourglass52_8xb64-210e_mpii-'
                            '256x256.py')


@pytest.fixture(scope='module')
def mmpose_index() -> str:
    index = package_model_index('mmpose')
    assert index is not None, 'MMPose is installed without .mim'
    return index


def test_plugin_metafile():
    path = osp.join(get_config_root(), 'metafile.yml')
    assert config_base(path) == REPO_ROOT
    models = read_models(path)
    assert len(models) == len(read_metafile(path)) > 0
    for model in models:
        assert osp.isfile(model.config), model.config
        assert model.name == osp.splitext(osp.basename(model.config))[0]
        assert model.config_field == osp.relpath(model.config, REPO_ROOT)
    aliases = {a: m.config for m in models for a in m.aliases}
    assert aliases == list_model_aliases()


def test_mmpose_index_and_its_metafiles(mmpose_index):
    """Read through the index or from the metafile beside the config, an
    entry resolves to the same installed config."""
    mim = osp.dirname(mmpose_index)
    assert config_base(mmpose_index) == mim
    models = read_models(mmpose_index)
    assert len(models) > 100
    hourglass = find_model(models, osp.join(mim, MMPOSE_HOURGLASS))
    assert hourglass is not None
    assert hourglass.config_field == MMPOSE_HOURGLASS
    assert hourglass.weights.startswith('https://')
    mean = hourglass.results[0]['Metrics']['Mean']
    assert 0.5 < mean < 1  # a fraction, as MMPose's metafiles state it

    beside = [
        osp.join(osp.dirname(hourglass.config), f)
        for f in sorted(os.listdir(osp.dirname(hourglass.config)))
        if f.endswith('.yml')
    ]
    found = [find_model(read_models(f), hourglass.config) for f in beside]
    found = [m for m in found if m is not None]
    assert len(found) == 1
    assert config_base(beside[0]) == mim
    assert found[0].results == hourglass.results


def test_names_and_aliases_ignore_case(mmpose_index):
    models = read_models(mmpose_index)
    human = [m for m in models if m.is_named('HUMAN')]
    assert human and human[0].config.endswith(
        'rtmpose-m_8xb256-420e_body8-256x192.py')


def test_alias_and_weights_forms(tmp_path):
    (tmp_path / 'configs').mkdir()
    meta = tmp_path / 'configs' / 'metafile.yml'
    meta.write_text('Models:\n'
                    '- Name: a\n  Config: configs/a.py\n  Alias: one\n'
                    '  Weights: [w1.pth, w2.pth]\n'
                    '- Name: b\n  Config: configs/b.py\n'
                    '  Alias: [two, three]\n  Weights: w.pth\n'
                    '- Name: c\n')
    a, b = read_models(str(meta))  # c has no Config
    assert (a.aliases, a.weights) == (('one', ), 'w1.pth')
    assert (b.aliases, b.weights) == (('two', 'three'), 'w.pth')
    assert b.config == str(tmp_path / 'configs' / 'b.py')
    assert b.results == () and b.entry['Name'] == 'b'


def test_bad_metafiles(tmp_path):
    index = tmp_path / 'model-index.yml'
    index.write_text('Import:\n- configs/absent.yml\n')
    with pytest.raises(FileNotFoundError, match=r'configs/absent\.yml'):
        read_metafile(str(index))
    listed = tmp_path / 'list.yml'
    listed.write_text('- Name: a\n')
    with pytest.raises(ValueError, match=r'list\.yml must hold a mapping'):
        read_metafile(str(listed))
    empty = tmp_path / 'empty.yml'
    empty.write_text('')
    assert read_metafile(str(empty)) == []
    with pytest.raises(FileNotFoundError, match='Metafile not found'):
        read_models(str(tmp_path / 'missing.yml'))
