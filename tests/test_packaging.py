"""The wheel holds the library, its metainfo and the configs; no tests, no tools."""
import os.path as osp
import shutil
import subprocess
import sys
import zipfile
from glob import glob

import pytest

from .conftest import REPO_ROOT

# What a wheel build reads from the checkout, and tests/ and tools/, which must stay out of it.
SOURCES = ('setup.py', 'setup.cfg', 'MANIFEST.in', 'README.md', 'requirements', 'configs',
           'softgate_mmpose', 'tests', 'tools')


def _source_files(top: str, pattern: str) -> set:
    """``pattern`` matches under ``REPO_ROOT/top``, relative to ``REPO_ROOT``."""
    return {
        osp.relpath(p, REPO_ROOT)
        for p in glob(osp.join(REPO_ROOT, top, '**', pattern), recursive=True)
        if '__pycache__' not in p and '/.mim/' not in p
    }


@pytest.fixture(scope='module')
def wheel_names(tmp_path_factory) -> list:
    """The member names of a wheel built (``pip wheel``) from a copy of the checkout."""
    src = tmp_path_factory.mktemp('src')
    for name in SOURCES:
        path = osp.join(REPO_ROOT, name)
        if osp.isdir(path):
            shutil.copytree(path, src / name,
                            ignore=shutil.ignore_patterns('__pycache__', '*.pyc', '.mim'))
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp('wheel')
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation',
         '--disable-pip-version-check', '-q', '-w', str(out), str(src)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel, ) = glob(str(out / 'softgate_mmpose-*.whl'))
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


@pytest.mark.slow
def test_wheel_holds_the_package_and_configs_only(wheel_names):
    tops = {name.split('/')[0] for name in wheel_names}
    dist_info = {t for t in tops if t.endswith('.dist-info')}
    assert tops - dist_info == {'softgate_mmpose'}, tops
    assert len(dist_info) == 1

    modules = {n for n in wheel_names if n.endswith('.py') and '/.mim/' not in n}
    # Every module of the package, the dataset metainfo included, and nothing else.
    assert modules == _source_files('softgate_mmpose', '*.py')
    assert 'softgate_mmpose/datasets/metainfo/lsp.py' in modules
    # The configs (and the metafile the aliases read) under .mim, as MMPose ships them.
    shipped = {n[len('softgate_mmpose/.mim/'):] for n in wheel_names if '/.mim/' in n}
    assert shipped == _source_files('configs', '*.py') | _source_files('configs', '*.yml')
    assert 'configs/metafile.yml' in shipped
    assert not [n for n in wheel_names if '__pycache__' in n or n.endswith('.pyc')]

