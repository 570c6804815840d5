# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Distributed training with mmengine's Runner on machines without CUDA.

mmengine 0.10.7 cannot start a distributed run there, whatever the backend:
``init_dist`` pins every rank to a GPU with ``torch.cuda.set_device`` (a
``RuntimeError`` without a driver), MMPose's runtime defaults to the ``nccl``
backend (GPU only), and the Runner passes ``device_ids=[LOCAL_RANK]`` to
``DistributedDataParallel``, which rejects device ids for a CPU module.
:func:`setup_cpu_distributed` adjusts the config for the last two and creates
the process group itself, from the launcher's environment as ``init_dist``
reads it but without the GPU pinning. The Runner finds the group and does the
rest as usual. No torch or mmengine function is patched.
"""
import datetime
import logging
import os
import subprocess
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.dist import is_distributed
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel  # noqa: F401 (registers)
from mmengine.registry import MODEL_WRAPPERS
from torch.nn.parallel import DistributedDataParallel

#: torch.distributed's default rendezvous port, as in mmengine.
DEFAULT_PORT = '29500'


def _export_launcher_env(launcher: str, port: Optional[int] = None) -> None:
    """Set the ``env://`` rendezvous variables from the launcher's own.

    torchrun (``'pytorch'``) sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
    ``MASTER_ADDR`` and ``MASTER_PORT`` itself. For slurm and MPI they are
    derived as mmengine's ``init_dist`` derives them (its ``port`` argument
    included), so that ``torch.distributed.init_process_group`` finds them.

    Args:
        launcher (str): ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        port (int, optional): Master port for slurm; otherwise
            ``MASTER_PORT`` or 29500.
    """
    env = os.environ
    if launcher == 'pytorch':
        return
    if launcher == 'slurm':
        env['RANK'] = env['SLURM_PROCID']
        env['WORLD_SIZE'] = env['SLURM_NTASKS']
        env['LOCAL_RANK'] = env.get('SLURM_LOCALID', '0')
        if port is not None:
            env['MASTER_PORT'] = str(port)
        env.setdefault('MASTER_PORT', DEFAULT_PORT)
        if 'MASTER_ADDR' not in env:  # the first node of the allocation
            hosts = subprocess.run(
                ['scontrol', 'show', 'hostnames', env['SLURM_NODELIST']],
                capture_output=True,
                text=True,
                check=True).stdout.split()
            env['MASTER_ADDR'] = hosts[0]
    elif launcher == 'mpi':
        env['RANK'] = env['OMPI_COMM_WORLD_RANK']
        env['WORLD_SIZE'] = env['OMPI_COMM_WORLD_SIZE']
        env['LOCAL_RANK'] = env['OMPI_COMM_WORLD_LOCAL_RANK']
        env.setdefault('MASTER_PORT', DEFAULT_PORT)
        if 'MASTER_ADDR' not in env:
            raise KeyError('The environment variable MASTER_ADDR is not set '
                           '(the MPI launcher needs the address of rank 0)')
    else:
        raise ValueError(f'Invalid launcher type: {launcher!r} (expected '
                         "'pytorch', 'slurm' or 'mpi')")


def init_cpu_dist(launcher: str, backend: str = 'gloo', **kwargs) -> None:
    """Create the default process group without touching any GPU.

    The counterpart of :func:`mmengine.dist.init_dist` for machines without
    CUDA: the same launchers and ``dist_cfg`` keys, no ``set_device``.

    Args:
        launcher (str): ``'pytorch'`` (torchrun), ``'slurm'`` or ``'mpi'``.
        backend (str): A CPU backend of torch.distributed, ``'gloo'`` or
            ``'mpi'``. Defaults to ``'gloo'``.
        **kwargs: The rest of ``env_cfg.dist_cfg``: ``timeout`` in seconds,
            ``port`` (slurm), ``init_backend`` (only ``'torch'``), and any
            other argument of ``torch.distributed.init_process_group``.
    """
    init_backend = kwargs.pop('init_backend', 'torch')
    if init_backend != 'torch':
        raise ValueError(f'init_backend={init_backend!r} is not supported '
                         "without CUDA; use 'torch'")
    _export_launcher_env(launcher, kwargs.pop('port', None))
    if kwargs.get('timeout') is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
    torch_dist.init_process_group(backend=backend, **kwargs)


def setup_cpu_distributed(cfg: Config) -> None:
    """Prepare a distributed run of ``cfg`` on a machine without CUDA.

    Does nothing for ``cfg.launcher == 'none'``, when CUDA is available or
    when a process group exists already. Otherwise it

    - replaces the ``nccl`` backend (MMPose's default, GPU only) in
      ``cfg.env_cfg.dist_cfg`` by ``gloo``, with a warning;
    - sets ``device_ids=None`` for the ``DistributedDataParallel`` wrapper
      (mmengine's default wrapper unless ``cfg.model_wrapper_cfg`` is set);
    - creates the process group with :func:`init_cpu_dist` from the
      launcher's environment (torchrun, slurm or MPI). The Runner then finds
      the group and uses it.

    Args:
        cfg (Config): The merged config; ``launcher`` (default ``'none'``),
            ``env_cfg`` and ``model_wrapper_cfg`` are read and updated.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available() or is_distributed():
        return

    # (Config.setdefault would store a copy of a new dict: assign instead.)
    if cfg.get('env_cfg') is None:
        cfg.env_cfg = dict()
    if cfg.env_cfg.get('dist_cfg') is None:
        cfg.env_cfg.dist_cfg = dict()
    dist_cfg = cfg.env_cfg.dist_cfg
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        print_log(
            'CUDA is not available and the nccl backend needs it: using '
            'gloo (set env_cfg.dist_cfg.backend to choose another one)',
            logger='current',
            level=logging.WARNING)
        dist_cfg['backend'] = 'gloo'

    wrapper_cfg = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper_type = wrapper_cfg.get('type', 'MMDistributedDataParallel')
    if isinstance(wrapper_type, str):
        wrapper_type = MODEL_WRAPPERS.get(wrapper_type)
    if isinstance(wrapper_type, type) and issubclass(wrapper_type,
                                                     DistributedDataParallel):
        wrapper_cfg.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper_cfg

    init_cpu_dist(launcher, **dict(dist_cfg))


def teardown_distributed() -> None:
    """Destroy the default process group, if one exists, before exit.

    mmengine leaves the group to interpreter shutdown, where gloo's threads
    can still be running when their objects are destroyed (``terminate
    called without an active exception``); the tools end runs cleanly.
    """
    if is_distributed():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
