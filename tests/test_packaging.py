"""The wheel ships the library, its metainfo and configs, no tests or tools;
installed, it works."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import zipfile
from glob import glob

import pytest

from .constants import MPII_ALIAS, REPO_ROOT

# What a wheel build reads from the checkout, and tests/ and tools/, which must
# stay out of it.
SOURCES = ('setup.py', 'setup.cfg', 'MANIFEST.in', 'README.md', 'requirements',
           'configs', 'softgate_mmpose', 'tests', 'tools')


def _source_files(top: str, pattern: str) -> set:
    """``pattern`` matches under ``REPO_ROOT/top``, relative to
    ``REPO_ROOT``."""
    return {
        osp.relpath(p, REPO_ROOT)
        for p in glob(osp.join(REPO_ROOT, top, '**', pattern), recursive=True)
        if '__pycache__' not in p and '/.mim/' not in p
    }


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> str:
    """A wheel built (``pip wheel``) from a copy of the checkout."""
    src = tmp_path_factory.mktemp('src')
    for name in SOURCES:
        path = osp.join(REPO_ROOT, name)
        if osp.isdir(path):
            shutil.copytree(
                path,
                src / name,
                ignore=shutil.ignore_patterns('__pycache__', '*.pyc', '.mim'))
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp('wheel')
    proc = subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps',
        '--no-build-isolation', '--disable-pip-version-check', '-q', '-w',
        str(out),
        str(src)
    ],
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (path, ) = glob(str(out / 'softgate_mmpose-*.whl'))
    return path


@pytest.mark.slow
def test_wheel_holds_the_package_and_configs_only(wheel):
    with zipfile.ZipFile(wheel) as zf:
        wheel_names = zf.namelist()
    tops = {name.split('/')[0] for name in wheel_names}
    dist_info = {t for t in tops if t.endswith('.dist-info')}
    assert tops - dist_info == {'softgate_mmpose'}, tops
    assert len(dist_info) == 1

    modules = {
        n
        for n in wheel_names if n.endswith('.py') and '/.mim/' not in n
    }
    # Every module of the package, the dataset metainfo included, and nothing
    # else.
    assert modules == _source_files('softgate_mmpose', '*.py')
    assert 'softgate_mmpose/datasets/metainfo/lsp.py' in modules
    # The configs (and the metafile the aliases read) under .mim, as MMPose
    # ships them.
    shipped = {
        n[len('softgate_mmpose/.mim/'):]
        for n in wheel_names if '/.mim/' in n
    }
    assert shipped == _source_files('configs', '*.py') | _source_files(
        'configs', '*.yml')
    assert 'configs/metafile.yml' in shipped
    assert not [
        n for n in wheel_names if '__pycache__' in n or n.endswith('.pyc')
    ]


@pytest.mark.slow
def test_installed_wheel_finds_its_configs(wheel, tmp_path):
    # Installed (not editable) and imported ahead of the checkout's editable
    # install: the
    # aliases resolve to the configs shipped in the wheel, and those configs
    # load.
    target = tmp_path / 'site'
    proc = subprocess.run([
        sys.executable, '-m', 'pip', 'install', '--no-deps',
        '--disable-pip-version-check', '-q', '--target',
        str(target), wheel
    ],
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    code = f"""
import json, os.path as osp
import softgate_mmpose
from mmengine.config import Config
from softgate_mmpose.apis.model_aliases import list_model_aliases
aliases = list_model_aliases()
cfg = Config.fromfile(aliases[{MPII_ALIAS!r}])
print(json.dumps(dict(package=osp.dirname(softgate_mmpose.__file__),
                      configs=sorted(aliases.values()),
                      backbone=cfg.model.backbone.type)))
"""
    proc = subprocess.run([sys.executable, '-c', code],
                          cwd=tmp_path,
                          capture_output=True,
                          text=True,
                          timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(target)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out['package'] == str(target / 'softgate_mmpose')
    mim = str(target / 'softgate_mmpose' / '.mim' / 'configs') + os.sep
    assert out['configs'] and all(
        p.startswith(mim) and osp.isfile(p) for p in out['configs'])
    assert out['backbone'] == 'SoftGatedStackedHourglass'
