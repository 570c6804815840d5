import pytest
import torch
from mmengine.runner import Runner

from softgate_mmpose.engine.hooks import MemoryFormatHook


def _conv_weights(model):
    return [p for p in model.parameters() if p.dim() == 4]


def test_runner_trains_with_channels_last_weights(tmp_path, write_tiny_coco,
                                                  tiny_runner_cfg):
    data_root = str(tmp_path / 'data')
    ann = write_tiny_coco(data_root, num_images=4, size=64, seed=0)
    cfg = tiny_runner_cfg(str(tmp_path / 'work'), data_root, ann, max_iters=2)
    cfg.custom_hooks = [
        dict(type='MemoryFormatHook', memory_format='channels_last')
    ]
    runner = Runner.from_cfg(cfg)
    weights = _conv_weights(runner.model)
    assert not any(
        w.is_contiguous(
            memory_format=torch.channels_last) and not w.is_contiguous()
        for w in weights)
    before = [w.detach().clone() for w in weights]
    runner.train()
    after = _conv_weights(runner.model)
    # The same Parameter objects (the optimizer's) were converted and then
    # trained.
    assert [id(w) for w in after] == [id(w) for w in weights]
    assert all(
        w.is_contiguous(memory_format=torch.channels_last) for w in after)
    assert any(not torch.equal(b, w.detach()) for b, w in zip(before, after))


def test_same_output_in_either_layout(tmp_path, write_tiny_coco,
                                      tiny_runner_cfg):
    data_root = str(tmp_path / 'data')
    ann = write_tiny_coco(data_root, num_images=2, size=64, seed=0)
    cfg = tiny_runner_cfg(str(tmp_path / 'work'), data_root, ann, max_iters=1)
    runner = Runner.from_cfg(cfg)
    model = runner.model.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ref = model.extract_feat(x)[-1]
        MemoryFormatHook('channels_last').before_run(runner)
        out = model.extract_feat(x)[-1]
    # oneDNN runs other kernels per layout (and per ISA: AVX2 differs from
    # AVX-512), summing in other orders: float rounding that scales with the
    # heatmaps' peak (about 2e-6 of it with AVX2 kernels), not per element.
    torch.testing.assert_close(
        out, ref, rtol=0, atol=1e-5 * ref.abs().max().item())


def test_bad_format_is_refused():
    with pytest.raises(ValueError, match='memory_format'):
        MemoryFormatHook('nhwc')
