# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Distributed training with mmengine's Runner on machines without CUDA.

mmengine 0.10.7 cannot start a distributed run there, whatever the backend:
``init_dist`` pins every rank to a GPU with ``torch.cuda.set_device`` (a
``RuntimeError`` without a driver), MMPose's runtime defaults to the ``nccl``
backend (GPU only), and the Runner passes ``device_ids=[LOCAL_RANK]`` to
``DistributedDataParallel``, which rejects device ids for a CPU module.
:func:`setup_cpu_distributed` fixes these three points before the Runner is
built and leaves everything else to mmengine.
"""
import logging
from contextlib import contextmanager
from typing import Iterator

import torch
from mmengine.config import Config
from mmengine.dist import init_dist, is_distributed
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel  # noqa: F401 (registers)
from mmengine.registry import MODEL_WRAPPERS
from torch.nn.parallel import DistributedDataParallel


@contextmanager
def _cuda_set_device_disabled() -> Iterator[None]:
    """Make ``torch.cuda.set_device`` a no-op inside the block."""
    set_device = torch.cuda.set_device
    torch.cuda.set_device = lambda device: None
    try:
        yield
    finally:
        torch.cuda.set_device = set_device


def setup_cpu_distributed(cfg: Config) -> None:
    """Prepare a distributed run of ``cfg`` on a machine without CUDA.

    Does nothing for ``cfg.launcher == 'none'``, when CUDA is available or
    when a process group exists already. Otherwise it

    - replaces the ``nccl`` backend (MMPose's default, GPU only) in
      ``cfg.env_cfg.dist_cfg`` by ``gloo``, with a warning;
    - sets ``device_ids=None`` for the ``DistributedDataParallel`` wrapper
      (mmengine's default wrapper unless ``cfg.model_wrapper_cfg`` is set);
    - initialises the process group with mmengine's ``init_dist`` (the
      launcher's environment: torchrun, slurm or MPI), skipping only its
      GPU pinning. The Runner then finds the group and uses it.

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
    if isinstance(wrapper_type, type) and issubclass(
            wrapper_type, DistributedDataParallel):
        wrapper_cfg.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper_cfg

    with _cuda_set_device_disabled():
        init_dist(launcher, **dist_cfg)
