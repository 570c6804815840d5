"""switch_to_deploy: one explicit transform, children before parents, eval
mode afterwards, the same outputs."""
import torch
import torch.nn as nn

from softgate_mmpose.models import SoftGatedStackedHourglass, switch_to_deploy

TINY = dict(
    num_keypoints=5,
    num_stacks=2,
    stack_channels=16,
    depth=2,
    stem_channels=(8, 16, 16))


class Recorder(nn.Module):

    def __init__(self, name, log, *children):
        super().__init__()
        self.name, self.log = name, log
        self.kids = nn.ModuleList(children)

    def switch_to_deploy(self):
        self.log.append(self.name)


def test_children_are_transformed_before_parents():
    log = []
    model = Recorder('root', log, Recorder('a', log, Recorder('a1', log)),
                     nn.Conv2d(1, 1, 1), Recorder('b', log)).train()
    assert switch_to_deploy(model) is model
    assert not model.training
    assert sorted(log) == ['a', 'a1', 'b', 'root']
    assert log.index('a1') < log.index('a') < log.index('root')
    assert log.index('b') < log.index('root')


def test_unknown_models_only_switch_to_eval():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5)).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    switch_to_deploy(model)
    assert not any(m.training for m in model.modules())
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_deployed_backbone_equals_the_original(randomize_norms_and_gates):
    model = randomize_norms_and_gates(SoftGatedStackedHourglass(**TINY)).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
        outs = switch_to_deploy(model)(x)
    for out, ref in zip(outs, expected):
        # folded weights round differently than the layer-by-layer chain
        peak = ref.abs().max()
        assert (out - ref).abs().max() <= 1e-5 * peak
