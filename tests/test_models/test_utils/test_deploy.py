"""switch_to_deploy: one explicit transform after loading (MMPose's
per-module convention), eval mode afterwards, the same outputs in PyTorch
and ONNX Runtime."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmpose.registry import MODELS

from softgate_mmpose.models import switch_to_deploy, truncate_stacks

DEFAULT_CONFIG = osp.join(
    osp.dirname(__file__), '..', '..', '..', 'configs', 'mpii',
    'td-hm_softgate-hg4-c144_1xb24-200e_mpii-256x256.py')


def build_estimator(**backbone) -> nn.Module:
    """The default config's estimator (depth 4), shrunk to 16 channels."""
    cfg = Config.fromfile(DEFAULT_CONFIG)
    cfg.model.backbone.update(
        stack_channels=16, stem_channels=(8, 16, 16), **backbone)
    cfg.model.head.num_stages = cfg.model.backbone.num_stacks
    return MODELS.build(cfg.model)


def max_rel_diff(outs, refs) -> float:
    """Largest difference over all outputs, relative to each one's peak."""
    return max(
        float((o - r).abs().max() / r.abs().max()) for o, r in zip(outs, refs))


# A deploy transform must be exact in real arithmetic: in float64 a
# deployed model may differ from the original by float64 rounding only
# (~1e-15 of the peak per layer, over a few hundred layers).
EXACT = 1e-11
# In float32 these small random models are off the exact values by up to
# ~2e-5 of the peak (BN scales up to 2.2 at every layer), and ONNX Runtime
# sums in another order than PyTorch: 1e-4 of the peak, for any kernels and
# thread counts.
TOLERANCE = 1e-4


class Recorder(nn.Module):

    def __init__(self, log, *children):
        super().__init__()
        self.log = log
        self.kids = nn.ModuleList(children)

    def switch_to_deploy(self, test_cfg=None):
        self.log.append((self, test_cfg))


def test_every_module_is_switched_once_with_the_test_cfg():
    log = []
    inner = Recorder(log)
    model = Recorder(log, inner, nn.Conv2d(1, 1, 1)).train()
    assert switch_to_deploy(model) is model
    assert not model.training
    assert [m for m, _ in log] == [model, inner]

    estimator = build_estimator(num_stacks=1)
    log.clear()
    estimator.head.recorder = Recorder(log)
    switch_to_deploy(estimator)
    assert log == [(estimator.head.recorder, estimator.test_cfg)]


def test_unknown_models_only_switch_to_eval():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5)).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    switch_to_deploy(model)
    assert not any(m.training for m in model.modules())
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_deployed_estimator_equals_the_loaded_checkpoint(
        tmp_path, randomize_norms_and_gates):
    # trained weights are saved, loaded into a new model, then deployed
    trained = randomize_norms_and_gates(build_estimator(num_stacks=2))
    path = str(tmp_path / 'model.pth')
    torch.save(trained.state_dict(), path)
    model = build_estimator(num_stacks=2).double()
    model.load_state_dict(torch.load(path), strict=True)
    trained.double().eval()
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        expected = trained.head.forward(trained.extract_feat(x))
        switch_to_deploy(model)
        outs = model.head.forward(model.extract_feat(x))
    assert not model.training
    assert max_rel_diff(outs, expected) <= EXACT


@pytest.mark.parametrize('deploy_first', [True, False])
def test_deploy_and_truncation_commute(deploy_first,
                                       randomize_norms_and_gates):
    full = randomize_norms_and_gates(build_estimator(num_stacks=3))
    full.double().eval()
    x = torch.randn(1, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        expected = full.head.forward(full.extract_feat(x))[1]
        model = copy.deepcopy(full)
        if deploy_first:
            truncate_stacks(switch_to_deploy(model), 2)
        else:
            switch_to_deploy(truncate_stacks(model, 2))
        outs = model.head.forward(model.extract_feat(x))
    assert len(outs) == 2
    assert max_rel_diff([outs[-1]], [expected]) <= EXACT


def test_deployed_estimator_exports(tmp_path, randomize_norms_and_gates):
    ort = pytest.importorskip('onnxruntime')

    class Net(nn.Module):  # images -> the last stack's heatmaps

        def __init__(self, estimator):
            super().__init__()
            self.estimator = estimator

        def forward(self, x):
            feats = self.estimator.extract_feat(x)
            return self.estimator.head.forward(feats)[-1]

    def export(model, name):
        path = str(tmp_path / name)
        torch.onnx.export(
            Net(model).eval(), (x, ),
            path,
            input_names=['x'],
            output_names=['heatmaps'],
            opset_version=17,
            dynamo=False)
        return path

    model = randomize_norms_and_gates(build_estimator(num_stacks=2)).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        deployed = export(switch_to_deploy(model), 'deployed.onnx')
        expected = model.head.forward(model.extract_feat(x))[-1].numpy()
    session = ort.InferenceSession(
        deployed, providers=['CPUExecutionProvider'])
    (actual, ) = session.run(None, {'x': x.numpy()})
    # export parity of the deployed model (float32 rounding, as above)
    assert np.abs(actual - expected).max() <= \
        TOLERANCE * np.abs(expected).max()
