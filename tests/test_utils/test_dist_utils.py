"""setup_cpu_distributed: what mmengine needs to run distributed without CUDA.

The process-group tests run where CUDA is not available, so that a call of
``torch.cuda.set_device`` (what mmengine's ``init_dist`` does) would raise.
"""
import os

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.registry import MODEL_WRAPPERS
from torch import nn

from softgate_mmpose.utils.dist_utils import (init_cpu_dist,
                                              setup_cpu_distributed,
                                              teardown_distributed)

RENDEZVOUS = ('RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')


@pytest.fixture
def no_process_group(monkeypatch):
    """Restores the rendezvous variables and destroys the process group
    afterwards."""
    # Recorded, so that what a launcher branch exports is undone.
    for key in RENDEZVOUS:
        monkeypatch.delenv(key, raising=False)
    yield
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


@pytest.fixture
def single_rank_env(no_process_group, monkeypatch, free_port):
    """A torchrun-like environment of one rank."""
    for key, value in dict(
            RANK='0',
            LOCAL_RANK='0',
            WORLD_SIZE='1',
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(free_port())).items():
        monkeypatch.setenv(key, value)


def test_no_launcher_changes_nothing():
    cfg = Config(
        dict(launcher='none', env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    setup_cpu_distributed(cfg)
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert 'model_wrapper_cfg' not in cfg
    assert not torch_dist.is_initialized()


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='mmengine handles CUDA machines itself')
@pytest.mark.parametrize('env_cfg',
                         [dict(dist_cfg=dict(backend='nccl')), None])
def test_nccl_becomes_gloo_and_ddp_gets_no_device_ids(env_cfg,
                                                      single_rank_env):
    set_device = torch.cuda.set_device
    cfg = Config(dict(launcher='pytorch'))
    # MMPose's default runtime; mmengine's default without one.
    if env_cfg is not None:
        cfg.env_cfg = env_cfg
    setup_cpu_distributed(cfg)
    assert torch_dist.is_initialized() and torch_dist.get_backend() == 'gloo'
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert torch.cuda.set_device is set_device  # not called, not replaced
    # As the Runner builds it: its device_ids=[LOCAL_RANK] would be refused for
    # a CPU module.
    assert cfg.model_wrapper_cfg.type == 'MMDistributedDataParallel'
    ddp = MODEL_WRAPPERS.build(
        cfg.model_wrapper_cfg,
        default_args=dict(module=nn.Linear(2, 2), device_ids=[0]))
    assert ddp.device_ids is None
    ddp(torch.ones(1, 2)).sum().backward()


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='mmengine handles CUDA machines itself')
def test_a_configured_wrapper_is_kept(single_rank_env):
    cfg = Config(
        dict(
            launcher='pytorch',
            env_cfg=dict(dist_cfg=dict(backend='gloo')),
            model_wrapper_cfg=dict(
                type='MMDistributedDataParallel',
                find_unused_parameters=True)))
    setup_cpu_distributed(cfg)
    assert cfg.model_wrapper_cfg.find_unused_parameters is True
    assert cfg.model_wrapper_cfg.device_ids is None


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='mmengine handles CUDA machines itself')
def test_slurm_environment_gives_the_rendezvous(no_process_group, monkeypatch,
                                                free_port):
    # One task of a slurm step: srun sets these, the master address comes from
    # the environment
    # (otherwise from ``scontrol show hostnames``), the port from dist_cfg.
    for key, value in dict(
            SLURM_PROCID='0',
            SLURM_NTASKS='1',
            SLURM_LOCALID='0',
            SLURM_NODELIST='localhost',
            MASTER_ADDR='127.0.0.1').items():
        monkeypatch.setenv(key, value)
    port = free_port()
    cfg = Config(
        dict(
            launcher='slurm',
            env_cfg=dict(
                dist_cfg=dict(backend='gloo', port=port, timeout=60))))
    setup_cpu_distributed(cfg)
    assert torch_dist.is_initialized() and torch_dist.get_backend() == 'gloo'
    assert (torch_dist.get_rank(), torch_dist.get_world_size()) == (0, 1)
    assert (os.environ['RANK'], os.environ['WORLD_SIZE'],
            os.environ['LOCAL_RANK'],
            os.environ['MASTER_PORT']) == ('0', '1', '0', str(port))


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='mmengine handles CUDA machines itself')
def test_mpi_environment_gives_the_rendezvous(no_process_group, monkeypatch,
                                              free_port):
    for key, value in dict(
            OMPI_COMM_WORLD_RANK='0',
            OMPI_COMM_WORLD_SIZE='1',
            OMPI_COMM_WORLD_LOCAL_RANK='0',
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(free_port())).items():
        monkeypatch.setenv(key, value)
    init_cpu_dist('mpi', backend='gloo')
    assert (torch_dist.get_rank(), torch_dist.get_world_size()) == (0, 1)


def test_mpi_without_master_address_is_refused(no_process_group, monkeypatch):
    for key, value in dict(
            OMPI_COMM_WORLD_RANK='0',
            OMPI_COMM_WORLD_SIZE='1',
            OMPI_COMM_WORLD_LOCAL_RANK='0').items():
        monkeypatch.setenv(key, value)
    with pytest.raises(KeyError, match='MASTER_ADDR'):
        init_cpu_dist('mpi')
    assert not torch_dist.is_initialized()


@pytest.mark.parametrize('launcher, kwargs, match', [
    ('torchrun', {}, 'Invalid launcher'),
    ('pytorch', dict(init_backend='deepspeed'), 'init_backend'),
])
def test_bad_launcher_settings_are_refused(launcher, kwargs, match,
                                           no_process_group):
    with pytest.raises(ValueError, match=match):
        init_cpu_dist(launcher, **kwargs)
    assert not torch_dist.is_initialized()


def test_teardown_destroys_the_group_and_is_idempotent(single_rank_env):
    init_cpu_dist('pytorch', backend='gloo')
    assert torch_dist.is_initialized()
    teardown_distributed()
    assert not torch_dist.is_initialized()
    teardown_distributed()  # no group: nothing to do
