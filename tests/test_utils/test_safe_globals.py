"""Runner checkpoints load with torch's safe loading; code payloads are refused
everywhere.

The tests on real Runner checkpoints share one short training and are marked
slow.
"""
import os
import os.path as osp
import pickle
import subprocess

import pytest
import torch
from mmengine.runner import Runner

import softgate_mmpose  # noqa: F401  (registers the safe globals)
from ..constants import DEFAULT_CONFIG, REPO_ROOT


@pytest.fixture(scope='module')
def trained(tmp_path_factory, write_tiny_coco, tiny_runner_cfg):
    """A real 4-iteration Runner training; checkpoints at iterations 2 and
    4."""
    root = str(tmp_path_factory.mktemp('coco'))
    ann = write_tiny_coco(root)
    work_dir = str(tmp_path_factory.mktemp('work'))
    runner = Runner.from_cfg(tiny_runner_cfg(work_dir, root, ann, max_iters=4))
    runner.train()
    return dict(root=root, ann=ann, work_dir=work_dir, runner=runner)


@pytest.mark.slow
def test_runner_checkpoint_needs_and_gets_the_safe_globals(trained):
    ckpt = osp.join(trained['work_dir'], 'iter_4.pth')
    # What the checkpoint holds beyond tensors, seen with the plugin's
    # allow-list cleared: mmengine's history buffers (and their methods,
    # pickled through getattr) and numpy data.
    registered = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    try:
        unsafe = set(
            torch.serialization.get_unsafe_globals_in_checkpoint(ckpt))
        with pytest.raises(pickle.UnpicklingError):
            torch.load(ckpt, map_location='cpu', weights_only=True)
    finally:
        torch.serialization.add_safe_globals(registered)
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in unsafe
    assert 'builtins.getattr' in unsafe
    assert any(g.startswith('numpy') for g in unsafe)
    assert torch.serialization.get_unsafe_globals_in_checkpoint(ckpt) == []
    state = torch.load(ckpt, map_location='cpu', weights_only=True)
    assert state['meta']['iter'] == 4
    assert 'dataset_meta' in state['meta']
    assert 'message_hub' in state and 'optimizer' in state
    buffer = state['message_hub']['log_scalars']['train/loss']
    assert buffer.statistics('mean') == pytest.approx(buffer.mean())


class _GetattrPayload:
    """Pickles into ``getattr(getattr, '__self__')``: the builtins module."""

    def __reduce__(self):
        return getattr, (getattr, '__self__')


def test_getattr_resolves_only_history_buffer_methods(tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save({'x': _GetattrPayload()}, path)
    with pytest.raises(pickle.UnpicklingError, match='only HistoryBuffer'):
        torch.load(path, weights_only=True)


@pytest.mark.slow
def test_load_from_restores_weights(trained, tmp_path, tiny_runner_cfg):
    ckpt = osp.join(trained['work_dir'], 'iter_4.pth')
    cfg = tiny_runner_cfg(
        str(tmp_path), trained['root'], trained['ann'], max_iters=4)
    cfg.load_from = ckpt
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    saved = torch.load(
        ckpt, map_location='cpu', weights_only=True)['state_dict']
    for name, value in runner.model.state_dict().items():
        torch.testing.assert_close(
            value, saved[name], rtol=0, atol=0, msg=name)


@pytest.mark.slow
def test_resume_restores_iteration_lr_and_optimizer(trained, tmp_path,
                                                    tiny_runner_cfg):
    ckpt = osp.join(trained['work_dir'], 'iter_2.pth')
    cfg = tiny_runner_cfg(
        str(tmp_path), trained['root'], trained['ann'], max_iters=4)
    cfg.resume = True
    cfg.load_from = ckpt
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    saved = torch.load(ckpt, map_location='cpu', weights_only=True)
    assert runner.iter == 2
    # The scheduler dropped the lr at iteration 2 (gamma 0.5): the resumed lr
    # is the dropped one.
    lr = runner.optim_wrapper.get_lr()['lr'][0]
    # Python floats from the same schedule: approx absorbs float formatting.
    assert lr == pytest.approx(saved['optimizer']['param_groups'][0]['lr'])
    assert lr == pytest.approx(0.5 * 2.5e-4)
    resumed = runner.optim_wrapper.optimizer.state_dict()['state']
    for key, value in saved['optimizer']['state'].items():
        # Loaded, not recomputed: bit for bit.
        torch.testing.assert_close(
            resumed[key]['exp_avg'], value['exp_avg'], rtol=0, atol=0)
    # The message hub's history (HistoryBuffer objects) came back too.
    assert runner.message_hub.get_scalar(
        'train/loss').current() == pytest.approx(
            saved['message_hub']['log_scalars']['train/loss'].current())


class _Payload:
    """Pickles into a call of os.system that would create ``marker``."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


@pytest.fixture
def payload_checkpoint(trained, tmp_path):
    """A genuine checkpoint with a code payload slipped into its meta."""
    state = torch.load(
        osp.join(trained['work_dir'], 'iter_4.pth'),
        map_location='cpu',
        weights_only=True)
    marker = tmp_path / 'payload_ran'
    state['meta']['note'] = _Payload(str(marker))
    path = tmp_path / 'evil.pth'
    torch.save(state, path)
    return str(path), marker


@pytest.mark.slow
def test_payload_refused_by_load_from(payload_checkpoint, trained, tmp_path,
                                      tiny_runner_cfg):
    path, marker = payload_checkpoint
    cfg = tiny_runner_cfg(str(tmp_path / 'w'), trained['root'], trained['ann'])
    cfg.load_from = path
    runner = Runner.from_cfg(cfg)
    with pytest.raises(pickle.UnpicklingError, match='system'):
        runner.load_or_resume()
    assert not marker.exists()


@pytest.mark.slow
def test_payload_refused_by_resume(payload_checkpoint, trained, tmp_path,
                                   tiny_runner_cfg):
    path, marker = payload_checkpoint
    cfg = tiny_runner_cfg(str(tmp_path / 'w'), trained['root'], trained['ann'])
    cfg.resume = True
    cfg.load_from = path
    runner = Runner.from_cfg(cfg)
    with pytest.raises(pickle.UnpicklingError, match='system'):
        runner.load_or_resume()
    assert not marker.exists()


@pytest.mark.slow
def test_payload_refused_by_init_model(payload_checkpoint):
    from mmpose.apis import init_model
    path, marker = payload_checkpoint
    with pytest.raises(pickle.UnpicklingError, match='system'):
        init_model(DEFAULT_CONFIG, path, device='cpu')
    assert not marker.exists()


def test_safe_loading_is_never_switched_off():
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ
    # No project code (tests aside, which name these strings to check them)
    # turns it off.
    out = subprocess.run([
        'git', 'grep', '-n', '-E',
        'weights_only *= *False|TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '--',
        '*.py', '*.sh', '*.cfg', '*.toml', 'Makefile', ':!tests'
    ],
                         cwd=REPO_ROOT,
                         capture_output=True,
                         text=True)
    assert out.stdout == '', out.stdout
