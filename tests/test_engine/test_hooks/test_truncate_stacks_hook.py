import pytest
import torch
from mmengine.runner import Runner

from softgate_mmpose.engine.hooks import TruncateStacksHook

_TEST_PIPELINE = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=(64, 64)),
    dict(type='PackPoseInputs'),
]


def _two_stack_cfg(tmp_path, write_tiny_coco, tiny_runner_cfg):
    data_root = str(tmp_path / 'data')
    ann = write_tiny_coco(data_root, num_images=4, size=64, seed=0)
    cfg = tiny_runner_cfg(str(tmp_path / 'work'), data_root, ann, max_iters=2)
    cfg.model.backbone.num_stacks = 2
    cfg.model.head.num_stages = 2
    return cfg, data_root, ann


def test_before_test_keeps_the_first_stacks(tmp_path, write_tiny_coco,
                                            tiny_runner_cfg):
    cfg, _, _ = _two_stack_cfg(tmp_path, write_tiny_coco, tiny_runner_cfg)
    runner = Runner.from_cfg(cfg)
    model = runner.model.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        full = model.extract_feat(x)
        TruncateStacksHook(1).before_test(runner)
        cut = model.extract_feat(x)
    assert model.backbone.num_stacks == 1 and model.head.num_stages == 1
    assert len(full) == 2 and len(cut) == 1
    # Stack 1 computes the same thing with or without the second stack.
    torch.testing.assert_close(cut[-1], full[0], rtol=0, atol=0)


def test_runner_test_runs_the_truncated_model(tmp_path, write_tiny_coco,
                                              tiny_runner_cfg):
    cfg, data_root, ann = _two_stack_cfg(tmp_path, write_tiny_coco,
                                         tiny_runner_cfg)
    Runner.from_cfg(cfg.copy()).train()
    cfg.load_from = str(tmp_path / 'work' / 'iter_2.pth')
    cfg.test_dataloader = dict(
        batch_size=2,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='CocoDataset',
            data_root=data_root,
            data_mode='topdown',
            ann_file=ann,
            data_prefix=dict(img='images/'),
            test_mode=True,
            pipeline=_TEST_PIPELINE))
    cfg.test_evaluator = dict(type='PCKAccuracy')
    cfg.test_cfg = dict()
    cfg.custom_hooks = [dict(type='TruncateStacksHook', num_stacks=1)]
    cfg.work_dir = str(tmp_path / 'test')
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    assert 'PCK' in metrics
    # The checkpoint of the 2-stack model was loaded first, then cut.
    assert runner.model.backbone.num_stacks == 1
    assert runner.model.head.num_stages == 1


@pytest.mark.parametrize('num_stacks', [0, 1.5, True])
def test_bad_num_stacks_is_refused(num_stacks):
    with pytest.raises(ValueError, match='num_stacks'):
        TruncateStacksHook(num_stacks)
