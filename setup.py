"""Packaging for softgate-mmpose, an MMPose 1.x plugin."""
import os
import os.path as osp
import shutil
import sys
from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
README = osp.join(HERE, 'README.md')


def get_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'softgate_mmpose', 'version.py')) as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname: str) -> list:
    """Requirement lines of ``requirements/<fname>`` without comments."""
    reqs = []
    with open(osp.join(HERE, 'requirements', fname)) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                reqs.append(line)
    return reqs


def add_mim_extension() -> None:
    """Ship ``configs/`` in the package as ``softgate_mmpose/.mim/configs``.

    As MMPose does, so that an installed (non-editable) package still finds
    its configs (and ``configs/metafile.yml``, which the aliases read); an
    editable install reads them from the source tree. Unlike MMPose, ``tools/``
    is not shipped: MMPose ships it for OpenMMLab's ``mim`` launcher, which is
    not part of this project's stack, and the tools run from a checkout.
    """
    commands = ('bdist_wheel', 'sdist', 'build', 'install')
    if not any(cmd in sys.argv for cmd in commands):
        return
    mim = osp.join(HERE, 'softgate_mmpose', '.mim')
    for name in ('configs', ):
        dst = osp.join(mim, name)
        if osp.isdir(dst) and not osp.islink(dst):
            shutil.rmtree(dst)
        elif osp.lexists(dst):
            os.remove(dst)
        shutil.copytree(
            osp.join(HERE, name),
            dst,
            ignore=shutil.ignore_patterns('__pycache__'))


add_mim_extension()
setup(
    name='softgate_mmpose',
    version=get_version(),
    description='Soft-gated skip connections for human pose estimation '
    '(Bulat et al., FG 2020) as an MMPose 1.x plugin',
    long_description=open(README).read() if osp.exists(README) else '',
    long_description_content_type='text/markdown',
    # Only the library: tests/ and its sub-packages are not installed.
    packages=find_packages(include=('softgate_mmpose', 'softgate_mmpose.*')),
    include_package_data=True,
    package_data={
        'softgate_mmpose': ['.mim/configs/**/*.py', '.mim/configs/**/*.yml']
    },
    python_requires='>=3.10',  # torch 2.13
    # mmcv/mmengine/mmpose/mmdet are pinned in requirements/mminstall.txt and
    # installed by tools/setup_env.sh: mmpose's declared dependencies (chumpy)
    # do not install in 2026.
    install_requires=parse_requirements('runtime.txt'),
    extras_require={
        'tests': parse_requirements('tests.txt'),
        'mim': parse_requirements('mminstall.txt'),
    },
    license='Apache License 2.0',
    zip_safe=False,
)
