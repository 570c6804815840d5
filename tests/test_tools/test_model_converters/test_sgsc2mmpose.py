# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""tools/model_converters/sgsc2mmpose.py: conversion of the public
reimplementation's checkpoints
(github.com/dkurzend/Soft_Gated_Pose_Estimation_Pytorch).

The reference network is described here independently of the converter: a
table of its state-dict names and shapes (read off its ``models/``), and a
functional forward driven by those names. A converted model must give the
reference's heatmaps for the same input tensor.
"""
import os
from collections import OrderedDict
from pathlib import Path
from typing import Dict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

REPO = Path(__file__).resolve().parents[3]
CONFIGS = {
    arch: REPO / f'configs/mpii/td-hm_softgate-ref-{name}_mpii-256x256.py'
    for arch, name in (('sgsc', 'sgsc-hg4-c144'), ('shg', 'shg-hg8-c256'))
}
# (num_stacks, channels) of their released SGSC_PoseNet / PoseNet
SIZES = {'sgsc': (4, 144), 'shg': (8, 256)}
K = 16
EPS = 1e-5  # nn.BatchNorm2d's default


# ---------------------------------------------------------------------------
# Their state dict: names and shapes, filled with random values
# ---------------------------------------------------------------------------
class RefStateDict:
    """Builds their ``model_state_dict`` with random values, module by module
    in their registration order."""

    def __init__(self, arch: str, seed: int = 0):
        self.arch = arch
        # Newell's residuals add their identity skips up through 8 stacks:
        # smaller weights keep the heatmaps O(1) there.
        self.gain = 0.5 if arch == 'shg' else 1.
        self.gen = torch.Generator().manual_seed(seed)
        self.sd: Dict[str, Tensor] = OrderedDict()

    def rand(self, *shape, scale=1., offset=0.) -> Tensor:
        return torch.randn(*shape, generator=self.gen) * scale + offset

    def batchnorm(self, p: str, c: int):
        self.sd[f'{p}.weight'] = self.rand(c, scale=0.1, offset=1.)
        self.sd[f'{p}.bias'] = self.rand(c, scale=0.1)
        self.sd[f'{p}.running_mean'] = self.rand(c, scale=0.1)
        self.sd[f'{p}.running_var'] = torch.rand(c, generator=self.gen) + 0.5
        self.sd[f'{p}.num_batches_tracked'] = torch.tensor(1234)

    def conv(self, p: str, cin: int, cout: int, k: int, bn: bool = False):
        # their Conv: `.conv` (always biased) then optional `.bn`
        self.sd[f'{p}.conv.weight'] = self.rand(
            cout, cin, k, k, scale=self.gain * (cin * k * k)**-0.5)
        self.sd[f'{p}.conv.bias'] = self.rand(cout, scale=0.1)
        if bn:
            self.batchnorm(f'{p}.bn', cout)

    def soft_gated_block(self, p: str, cin: int, cout: int):
        # bn1 conv1(3x3, cout/2) bn2 conv2(3x3, cout/4) bn3 conv3(3x3, cout/4)
        chans = [cin, cout // 2, cout // 4, cout // 4]
        for i in (1, 2, 3):
            self.batchnorm(f'{p}.bn{i}', chans[i - 1])
            self.conv(f'{p}.conv{i}', chans[i - 1], chans[i], 3)
        self.sd[f'{p}.skip_connection.alpha'] = self.rand(
            1, cout, 1, 1, scale=0.5)
        if cin != cout:
            self.conv(f'{p}.skip_connection.skip_layer', cin, cout, 1)

    def residual(self, p: str, cin: int, cout: int):
        # bn1 conv1(1x1, cout/2) bn2 conv2(3x3) bn3 conv3(1x1, cout);
        # skip_layer exists whatever the channels
        mid = cout // 2
        layers = ((cin, mid, 1), (mid, mid, 3), (mid, cout, 1))
        for i, (a, b, k) in enumerate(layers, 1):
            self.batchnorm(f'{p}.bn{i}', a)
            self.conv(f'{p}.conv{i}', a, b, k)
        self.conv(f'{p}.skip_layer', cin, cout, 1)

    def block(self, p: str, cin: int, cout: int):
        if self.arch == 'sgsc':
            self.soft_gated_block(p, cin, cout)
        else:
            self.residual(p, cin, cout)

    def hourglass(self, p: str, n: int, f: int):
        self.block(f'{p}.up1', f, f)
        self.block(f'{p}.low1', f, f)
        if n > 1:
            self.hourglass(f'{p}.low2', n - 1, f)
        else:
            self.block(f'{p}.low2', f, f)
        if self.arch == 'sgsc':
            self.conv(f'{p}.conv', 2 * f, f, 3)
        self.block(f'{p}.low3', f, f)

    def build(self) -> Dict[str, Tensor]:
        nstack, c = SIZES[self.arch]
        self.conv('pre.0', 3, 64, 7, bn=True)
        self.block('pre.1', 64, 128)
        self.block('pre.3', 128, 128)
        self.block('pre.4', 128, c)
        for i in range(nstack):
            self.hourglass(f'hgs.{i}.0', 4, c)
        for i in range(nstack):
            self.block(f'features.{i}.0', c, c)
            self.conv(f'features.{i}.1', c, c, 1, bn=True)
        for i in range(nstack):
            self.conv(f'outs.{i}', c, K, 1)
        for i in range(nstack - 1):
            self.conv(f'merge_features.{i}.conv', c, c, 1)
        for i in range(nstack - 1):
            self.conv(f'merge_preds.{i}.conv', K, c, 1)
        return self.sd


# ---------------------------------------------------------------------------
# Their forward, functionally, from their names (eval mode)
# ---------------------------------------------------------------------------
class RefForward:

    def __init__(self, arch: str, sd: Dict[str, Tensor]):
        self.arch = arch
        self.sd = sd

    def bn(self, p: str, x: Tensor) -> Tensor:
        s = self.sd
        return F.batch_norm(x, s[f'{p}.running_mean'], s[f'{p}.running_var'],
                            s[f'{p}.weight'], s[f'{p}.bias'], False, 0., EPS)

    def conv(self, p: str, x: Tensor, stride=1, bn=False, relu=False):
        w = self.sd[f'{p}.conv.weight']
        x = F.conv2d(x, w, self.sd[f'{p}.conv.bias'], stride,
                     (w.shape[-1] - 1) // 2)
        if bn:
            x = self.bn(f'{p}.bn', x)
        return F.relu(x) if relu else x

    def soft_gated_block(self, p: str, x: Tensor) -> Tensor:
        skip = x
        if f'{p}.skip_connection.skip_layer.conv.weight' in self.sd:
            skip = self.conv(f'{p}.skip_connection.skip_layer', x)
        skip = skip * self.sd[f'{p}.skip_connection.alpha']
        x1 = self.conv(f'{p}.conv1', F.relu(self.bn(f'{p}.bn1', x)))
        x2 = self.conv(f'{p}.conv2', F.relu(self.bn(f'{p}.bn2', x1)))
        x3 = self.conv(f'{p}.conv3', F.relu(self.bn(f'{p}.bn3', x2)))
        return skip + torch.cat([x1, x2, x3], 1)

    def residual(self, p: str, x: Tensor) -> Tensor:
        out = self.conv(f'{p}.conv1', F.relu(self.bn(f'{p}.bn1', x)))
        out = self.conv(f'{p}.conv2', F.relu(self.bn(f'{p}.bn2', out)))
        out = self.conv(f'{p}.conv3', F.relu(self.bn(f'{p}.bn3', out)))
        # the 1x1 skip_layer is used only when the channels change
        skip = x if out.shape[1] == x.shape[1] else self.conv(
            f'{p}.skip_layer', x)
        return out + skip

    def block(self, p: str, x: Tensor) -> Tensor:
        if self.arch == 'sgsc':
            return self.soft_gated_block(p, x)
        return self.residual(p, x)

    def hourglass(self, p: str, n: int, x: Tensor) -> Tensor:
        up1 = self.block(f'{p}.up1', x)
        low = self.block(f'{p}.low1', F.max_pool2d(x, 2, 2))
        if n > 1:
            low = self.hourglass(f'{p}.low2', n - 1, low)
        else:
            low = self.block(f'{p}.low2', low)
        if self.arch == 'sgsc':
            up2 = F.interpolate(low, scale_factor=2, mode='nearest')
            merged = self.conv(
                f'{p}.conv', torch.cat([up1, up2], 1), relu=True)
            return self.block(f'{p}.low3', merged)
        low = self.block(f'{p}.low3', low)
        return up1 + F.interpolate(low, scale_factor=2, mode='nearest')

    def __call__(self, img: Tensor) -> Tensor:
        """(N, 3, H, W) → (N, S, K, H/4, W/4), as their forward."""
        x = self.conv('pre.0', img, stride=2, bn=True, relu=True)
        x = self.block('pre.1', x)
        x = F.max_pool2d(x, 2, 2)
        x = self.block('pre.4', self.block('pre.3', x))
        preds = []
        for i in range(SIZES[self.arch][0]):
            feat = self.block(f'features.{i}.0',
                              self.hourglass(f'hgs.{i}.0', 4, x))
            feat = self.conv(f'features.{i}.1', feat, bn=True, relu=True)
            preds.append(self.conv(f'outs.{i}', feat))
            if i < SIZES[self.arch][0] - 1:
                x = x + self.conv(f'merge_preds.{i}.conv', preds[-1]) + \
                    self.conv(f'merge_features.{i}.conv', feat)
        return torch.stack(preds, 1)


# ---------------------------------------------------------------------------
# fixtures and helpers
# ---------------------------------------------------------------------------
@pytest.fixture(scope='module')
def ref_state_dicts():
    return {}


@pytest.fixture(scope='module')
def sgsc(load_tool):
    """The converter tool as a module."""
    return load_tool('model_converters/sgsc2mmpose.py')


def ref_state_dict(cache: dict, arch: str) -> Dict[str, Tensor]:
    if arch not in cache:
        cache[arch] = RefStateDict(arch).build()
    return cache[arch]


def save_ref_checkpoint(sd: Dict[str, Tensor], path: Path) -> Path:
    """As their train.py: model, optimizer state, epoch and loss."""
    torch.save(
        {
            'epoch': 199,
            'model_state_dict': sd,
            'optimizer_state_dict': {
                'state': {},
                'param_groups': [{
                    'lr': 1e-5,
                    'betas': (0.9, 0.999),
                    'params': [0, 1]
                }]
            },
            'loss': torch.tensor(0.0012),
        }, path)
    return path


def cli_main(sgsc, argv) -> int:
    return sgsc.main([str(a) for a in argv])


# ---------------------------------------------------------------------------
# conversion is exact
# ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize('arch', ['sgsc', 'shg'])
def test_converted_model_gives_reference_heatmaps(arch, tmp_path, sgsc,
                                                  ref_state_dicts, capsys):
    from mmpose.apis import init_model
    from mmpose.datasets import MpiiDataset
    from mmpose.structures import PoseDataSample

    sd = ref_state_dict(ref_state_dicts, arch)
    src = save_ref_checkpoint(sd, tmp_path / f'{arch.upper()}_weights.tar')
    dst = tmp_path / 'out' / f'{arch}.pth'
    assert cli_main(sgsc, [src, dst, '--arch', arch]) == 0
    assert f'-> {dst}' in capsys.readouterr().out

    # An MMPose checkpoint that loads without running code (numpy arrays
    # of dataset_meta are allow-listed by the plugin).
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    meta = ckpt['meta']['dataset_meta']
    expected_meta = MpiiDataset._load_metainfo()
    assert meta['dataset_name'] == 'mpii'
    assert set(meta) == set(expected_meta)
    for key, value in expected_meta.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(meta[key], value)
        else:
            assert meta[key] == value, key
    assert ckpt['meta']['converted_from']['arch'] == arch

    # Every weight of theirs is used, except SHG's unused skip_layers.
    converted = ckpt['state_dict']
    if arch == 'sgsc':
        assert len(converted) == len(sd)
    else:
        # their skip_layer is used only where the channels change
        skips = [k for k in sd if k.endswith('skip_layer.conv.weight')]
        used = [k for k in skips if sd[k].shape[0] != sd[k].shape[1]]
        assert used == [
            'pre.1.skip_layer.conv.weight', 'pre.4.skip_layer.conv.weight'
        ]
        assert len(converted) == len(sd) - 2 * (len(skips) - len(used))
        assert 'backbone.stem.1.skip.projection.conv.bias' in converted

    model = init_model(str(CONFIGS[arch]), str(dst), device='cpu')
    model_sd = model.state_dict()
    assert set(model_sd) == set(converted)
    for name, value in converted.items():
        assert torch.equal(model_sd[name], value), name
    assert model.dataset_meta['dataset_name'] == 'mpii'

    img = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = RefForward(arch, sd)(img)
        heatmaps = torch.stack(model.backbone(img), 1)
    assert heatmaps.shape == expected.shape == (1, SIZES[arch][0], K, 16, 16)
    # Two implementations of one network sum in other orders: rounding,
    # relative per element and, near zero, relative to the peak.
    scale = expected.abs().max().item()
    torch.testing.assert_close(
        heatmaps, expected, rtol=1e-4, atol=1e-5 * scale)

    # The same tensor as theirs reaches the backbone: RGB / 255.
    bgr = torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
    inputs = model.data_preprocessor(
        dict(inputs=[bgr], data_samples=[PoseDataSample()]))['inputs']
    torch.testing.assert_close(inputs[0], bgr.flip(0).float() / 255)
    assert model.cfg.model.test_cfg.flip_test is False


def test_topdown_inference_gives_their_heatmaps(ref_state_dicts, tmp_path,
                                                sgsc):
    """MMPose's own inference path (pipeline, data preprocessor, head) feeds
    their tensor, the RGB crop / 255, and returns their last heatmaps."""
    from mmengine.config import Config
    from mmengine.dataset import Compose
    from mmpose.apis import inference_topdown, init_model

    sd = ref_state_dict(ref_state_dicts, 'sgsc')
    ckpt = tmp_path / 'sgsc.pth'
    sgsc.convert_checkpoint(
        str(save_ref_checkpoint(sd, tmp_path / 'sgsc.tar')), str(ckpt), 'sgsc')
    cfg = Config.fromfile(CONFIGS['sgsc'])
    # a 64x64 crop keeps the test fast
    cfg.model.head.decoder = dict(
        type='MSRAHeatmap',
        input_size=(64, 64),
        heatmap_size=(16, 16),
        sigma=2)
    for transform in cfg.test_dataloader.dataset.pipeline:
        if transform.type == 'TopdownAffine':
            transform.input_size = (64, 64)
    cfg.model.test_cfg.output_heatmaps = True
    model = init_model(cfg, str(ckpt), device='cpu')
    seen = []
    model.backbone.register_forward_pre_hook(
        lambda module, args: seen.append(args[0]))

    bgr = np.random.RandomState(0).randint(0, 256, (120, 90, 3), np.uint8)
    bbox = np.array([[10, 5, 80, 110]], dtype=np.float32)
    result = inference_topdown(model, bgr, bboxes=bbox)[0]

    assert len(seen) == 1  # no flip test: the crop goes through once
    crop = Compose(cfg.test_dataloader.dataset.pipeline)(dict(
        img=bgr,
        bbox=bbox,
        bbox_score=np.ones(1, np.float32),
        **model.dataset_meta))['inputs']  # (3, 64, 64) uint8 BGR
    torch.testing.assert_close(seen[0][0], crop.flip(0).float() / 255)
    with torch.no_grad():
        expected = RefForward('sgsc', sd)(seen[0])[0, -1]
    heatmaps = torch.as_tensor(result.pred_fields.heatmaps)
    torch.testing.assert_close(
        heatmaps, expected, rtol=1e-4, atol=1e-5 * expected.abs().max())


def test_dataparallel_prefix_is_accepted(ref_state_dicts, sgsc):
    sd = ref_state_dict(ref_state_dicts, 'sgsc')
    plain = sgsc.convert_state_dict(sd, 'sgsc')
    wrapped = {f'module.{k}': v for k, v in sd.items()}
    prefixed = sgsc.convert_state_dict(wrapped, 'sgsc')
    assert list(prefixed) == list(plain)
    assert all(torch.equal(prefixed[k], plain[k]) for k in plain)


# ---------------------------------------------------------------------------
# bad input: clear errors, nothing written
# ---------------------------------------------------------------------------
def assert_fails(sgsc, argv, capsys, out_dir: Path, *needles: str) -> str:
    assert cli_main(sgsc, argv) == 1
    err = capsys.readouterr().err
    for needle in needles:
        assert needle in err, f'{needle!r} not in:\n{err}'
    assert not out_dir.exists() or os.listdir(out_dir) == []
    return err


def test_wrong_arch(ref_state_dicts, tmp_path, capsys, sgsc):
    src = save_ref_checkpoint(
        ref_state_dict(ref_state_dicts, 'sgsc'), tmp_path / 'sgsc.tar')
    out_dir = tmp_path / 'out'
    err = assert_fails(sgsc, [src, out_dir / 'x.pth', '--arch', 'shg'], capsys,
                       out_dir, str(src), 'missing keys',
                       'pre.1.skip_layer.conv.weight', 'unexpected keys',
                       'pre.1.skip_connection.alpha',
                       'it is a state dict of --arch sgsc')
    assert '... and' in err  # long lists are cut, with their totals
    with pytest.raises(SystemExit):  # argparse: not one of the choices
        cli_main(sgsc, [src, out_dir / 'x.pth', '--arch', 'hourglass'])
    assert "invalid choice: 'hourglass'" in capsys.readouterr().err
    with pytest.raises(ValueError, match='arch must be one of'):
        sgsc.convert_state_dict({}, 'hourglass')


@pytest.mark.parametrize('problem', ['missing', 'unexpected', 'shape'])
def test_bad_state_dict_is_listed(problem, ref_state_dicts, tmp_path, capsys,
                                  sgsc):
    sd = dict(ref_state_dict(ref_state_dicts, 'sgsc'))
    if problem == 'missing':
        del sd['hgs.2.0.low2.conv.conv.bias']
        del sd['outs.3.conv.weight']
        needles = [
            '2 missing keys', 'hgs.2.0.low2.conv.conv.bias',
            'outs.3.conv.weight'
        ]
    elif problem == 'unexpected':
        sd['heatmapLoss.weight'] = torch.zeros(1)
        needles = ['1 unexpected keys', 'heatmapLoss.weight']
    else:
        sd['features.1.1.conv.weight'] = torch.zeros(144, 144, 3, 3)
        needles = [
            '1 mismatched shapes', 'features.1.1.conv.weight: found '
            '(144, 144, 3, 3), expected (144, 144, 1, 1)'
        ]
    src = save_ref_checkpoint(sd, tmp_path / 'bad.tar')
    out_dir = tmp_path / 'out'
    assert_fails(sgsc, [src, out_dir / 'x.pth', '--arch', 'sgsc'], capsys,
                 out_dir, str(src), *needles)
    with pytest.raises(sgsc.CheckpointMismatchError) as info:
        sgsc.convert_state_dict(sd, 'sgsc')
    n_problems = (
        len(info.value.missing) + len(info.value.unexpected) +
        len(info.value.mismatched))
    assert n_problems == (2 if problem == 'missing' else 1)


def test_unreadable_or_foreign_file(tmp_path, capsys, sgsc):
    out_dir = tmp_path / 'out'
    garbage = tmp_path / 'garbage.tar'
    garbage.write_bytes(b'not a checkpoint')
    assert_fails(sgsc, [garbage, out_dir / 'x.pth', '--arch', 'sgsc'], capsys,
                 out_dir, str(garbage), 'cannot be read')
    other = tmp_path / 'other.tar'
    torch.save({'net': 1}, other)
    assert_fails(sgsc, [other, out_dir / 'x.pth', '--arch', 'sgsc'], capsys,
                 out_dir, str(other), 'model_state_dict', "['net']")
    assert_fails(
        sgsc, [tmp_path / 'absent.tar', out_dir / 'x.pth', '--arch', 'sgsc'],
        capsys, out_dir, 'absent.tar', 'not found')
