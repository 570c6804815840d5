"""setup_cpu_distributed: what mmengine needs to run distributed without CUDA."""
import socket

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.registry import MODEL_WRAPPERS
from torch import nn

from softgate_mmpose.utils.dist_utils import setup_cpu_distributed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def single_rank_env(monkeypatch):
    """A torchrun-like environment of one rank; the process group is destroyed afterwards."""
    for key, value in dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=str(free_port())).items():
        monkeypatch.setenv(key, value)
    yield
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def test_no_launcher_changes_nothing():
    cfg = Config(dict(launcher='none', env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    setup_cpu_distributed(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'nccl' and 'model_wrapper_cfg' not in cfg
    assert not torch_dist.is_initialized()


@pytest.mark.skipif(torch.cuda.is_available(), reason='mmengine handles CUDA machines itself')
@pytest.mark.parametrize('env_cfg', [dict(dist_cfg=dict(backend='nccl')), None])
def test_nccl_becomes_gloo_and_ddp_gets_no_device_ids(env_cfg, single_rank_env):
    set_device = torch.cuda.set_device
    cfg = Config(dict(launcher='pytorch'))
    if env_cfg is not None:  # MMPose's default runtime; mmengine's default without one
        cfg.env_cfg = env_cfg
    setup_cpu_distributed(cfg)
    assert torch_dist.is_initialized() and torch_dist.get_backend() == 'gloo'
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert torch.cuda.set_device is set_device  # only disabled during init_dist
    # As the Runner builds it: its device_ids=[LOCAL_RANK] would be refused for a CPU module.
    assert cfg.model_wrapper_cfg.type == 'MMDistributedDataParallel'
    ddp = MODEL_WRAPPERS.build(cfg.model_wrapper_cfg,
                               default_args=dict(module=nn.Linear(2, 2), device_ids=[0]))
    assert ddp.device_ids is None
    ddp(torch.ones(1, 2)).sum().backward()


@pytest.mark.skipif(torch.cuda.is_available(), reason='mmengine handles CUDA machines itself')
def test_a_configured_wrapper_is_kept(single_rank_env):
    cfg = Config(dict(launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='gloo')),
                      model_wrapper_cfg=dict(type='MMDistributedDataParallel',
                                             find_unused_parameters=True)))
    setup_cpu_distributed(cfg)
    assert cfg.model_wrapper_cfg.find_unused_parameters is True
    assert cfg.model_wrapper_cfg.device_ids is None
