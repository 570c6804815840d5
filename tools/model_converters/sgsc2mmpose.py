# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Convert a checkpoint of the public SGSC reimplementation to MMPose.

`dkurzend/Soft_Gated_Pose_Estimation_Pytorch
<https://github.com/dkurzend/Soft_Gated_Pose_Estimation_Pytorch>`_ released
MPII-trained weights of its soft-gated network (``SGSC_PoseNet(4, 144, 16)``)
and of its stacked hourglass (``PoseNet(8, 256, 16)``), as ``.tar`` files
holding ``{'model_state_dict': ...}``. Both networks are
:class:`~softgate_mmpose.models.SoftGatedStackedHourglass` configurations, so
a conversion is a renaming of parameters::

    python tools/model_converters/sgsc2mmpose.py \
        checkpoints/SGSC_model_weights.tar sgsc_hg4_c144_mpii.pth --arch sgsc

``--arch sgsc`` pairs with
``configs/mpii/td-hm_softgate-ref-sgsc-hg4-c144_mpii-256x256.py``,
``--arch shg`` with
``configs/mpii/td-hm_softgate-ref-shg-hg8-c256_mpii-256x256.py``; the sizes
of their networks (stacks, channels, joints, depth, stem) are read from these
configs. Every name and shape of their network is checked, and the result
against the config's model, before anything is written.
"""
import argparse
import os
import os.path as osp
import sys
from collections import OrderedDict
from typing import Any, Dict, Mapping, NamedTuple, Optional, Tuple

import torch
from mmengine.config import Config
from torch import Tensor

from softgate_mmpose.utils import atomic_open
from softgate_mmpose.utils.checkpoint import (StateDictMismatch,
                                              check_checkpoint_compatibility,
                                              compare_state_dict,
                                              read_checkpoint, state_dict_of)

REFERENCE_URL = \
    'https://github.com/dkurzend/Soft_Gated_Pose_Estimation_Pytorch'

CONFIG_ROOT = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')

#: The config of each released network.
ARCHS: Dict[str, str] = {
    'sgsc':
    osp.join(CONFIG_ROOT, 'mpii',
             'td-hm_softgate-ref-sgsc-hg4-c144_mpii-256x256.py'),
    'shg':
    osp.join(CONFIG_ROOT, 'mpii',
             'td-hm_softgate-ref-shg-hg8-c256_mpii-256x256.py'),
}

# How many names an error message lists per kind of problem.
_MAX_LISTED = 20


class ReferenceParam(NamedTuple):
    """One entry of the reference network's state dict.

    Attributes:
        target (str | None): Name in the MMPose ``TopdownPoseEstimator``, or
            None for weights that the reference stores but never uses.
        shape (tuple[int]): Expected shape.
    """
    target: Optional[str]
    shape: Tuple[int, ...]


class ReferenceSpec(NamedTuple):
    """Sizes of a released network, as its config builds it."""
    num_stacks: int
    channels: int
    num_keypoints: int
    depth: int
    stem_channels: Tuple[int, int, int]
    soft_gated: bool  # HierarchicalBlock + concat merge, else Newell's


class CheckpointMismatchError(ValueError):
    """The state dict is not the one of the requested reference network.

    Attributes:
        missing (list[str]): Expected names absent from the state dict.
        unexpected (list[str]): Names the network does not have.
        mismatched (list[tuple]): ``(name, found, expected)`` of entries whose
            shape (or type) differs.
    """

    def __init__(self,
                 arch: str,
                 mismatch: StateDictMismatch,
                 source: Optional[str] = None,
                 hint: Optional[str] = None):
        self.arch = arch
        self.missing, self.unexpected, self.mismatched = mismatch
        where = f'{source}: ' if source else ''
        lines = [f'{where}not a state dict of the reference {arch!r} network']
        if hint:
            lines.append(hint)
        lines += mismatch.describe(_MAX_LISTED)
        super().__init__('\n'.join(lines))


class _TableBuilder:
    """Walks the reference network's module tree, recording each of its
    state-dict entries with its shape and its name in the plugin's model.

    Method names follow the reference's modules; ``src`` is their module
    path, ``dst`` the plugin's.
    """

    def __init__(self, arch: str, spec: 'ReferenceSpec'):
        self.arch = arch
        self.spec = spec
        self.table: 'OrderedDict[str, ReferenceParam]' = OrderedDict()

    def add(self, src: str, dst: Optional[str], shape: Tuple[int, ...]):
        self.table[src] = ReferenceParam(dst, tuple(shape))

    def bn(self, src: str, dst: Optional[str], channels: int):
        for name in ('weight', 'bias', 'running_mean', 'running_var'):
            self.add(f'{src}.{name}', dst and f'{dst}.{name}', (channels, ))
        tracked = dst and f'{dst}.num_batches_tracked'
        self.add(f'{src}.num_batches_tracked', tracked, ())

    def conv(self,
             src: str,
             dst: Optional[str],
             in_channels: int,
             out_channels: int,
             kernel: int,
             bn: bool = False):
        """Their ``Conv``: a biased conv, optionally followed by BN. Both
        names line up with :class:`mmcv.cnn.ConvModule` (``conv``, ``bn``).
        """
        self.add(f'{src}.conv.weight', dst and f'{dst}.conv.weight',
                 (out_channels, in_channels, kernel, kernel))
        self.add(f'{src}.conv.bias', dst and f'{dst}.conv.bias',
                 (out_channels, ))
        if bn:
            self.bn(f'{src}.bn', dst and f'{dst}.bn', out_channels)

    def block(self, src: str, dst: str, in_channels: int, out_channels: int):
        if self.spec.soft_gated:
            self.soft_gated_block(src, dst, in_channels, out_channels)
        else:
            self.residual(src, dst, in_channels, out_channels)

    def soft_gated_block(self, src: str, dst: str, in_channels: int,
                         out_channels: int):
        """Their ``SoftGatedBlock`` → :class:`HierarchicalBlock`: each
        pre-activation ``bn{i}`` becomes the norm of ``conv{i}``."""
        widths = (in_channels, out_channels // 2, out_channels // 4,
                  out_channels // 4)
        for i in range(1, 4):
            self.bn(f'{src}.bn{i}', f'{dst}.conv{i}.bn', widths[i - 1])
            self.conv(f'{src}.conv{i}', f'{dst}.conv{i}', widths[i - 1],
                      widths[i], 3)
        self.add(f'{src}.skip_connection.alpha', f'{dst}.skip.alpha',
                 (1, out_channels, 1, 1))
        if in_channels != out_channels:
            self.conv(f'{src}.skip_connection.skip_layer',
                      f'{dst}.skip.projection', in_channels, out_channels, 1)

    def residual(self, src: str, dst: str, in_channels: int,
                 out_channels: int):
        """Their ``Residual`` → :class:`PreActBottleneck`.

        Their ``skip_layer`` exists even when ``in_channels ==
        out_channels``, where their forward uses the identity instead: those
        weights are checked and dropped.
        """
        mid = out_channels // 2
        layers = ((in_channels, mid, 1), (mid, mid, 3), (mid, out_channels, 1))
        for i, (c_in, c_out, kernel) in enumerate(layers, 1):
            self.bn(f'{src}.bn{i}', f'{dst}.conv{i}.bn', c_in)
            self.conv(f'{src}.conv{i}', f'{dst}.conv{i}', c_in, c_out, kernel)
        self.conv(
            f'{src}.skip_layer',
            f'{dst}.skip.projection' if in_channels != out_channels else None,
            in_channels, out_channels, 1)

    def hourglass(self, src: str, dst: str, depth: int, channels: int):
        """Their ``SoftGatedHourglass`` / ``Hourglass`` →
        :class:`SoftGatedHourglassModule`."""
        self.block(f'{src}.up1', f'{dst}.up_block', channels, channels)
        self.block(f'{src}.low1', f'{dst}.low_block', channels, channels)
        if depth > 1:
            self.hourglass(f'{src}.low2', f'{dst}.inner', depth - 1, channels)
        else:
            self.block(f'{src}.low2', f'{dst}.inner', channels, channels)
        if self.spec.soft_gated:
            # concat → 3x3 conv + ReLU → block
            self.conv(f'{src}.conv', f'{dst}.merge_conv', 2 * channels,
                      channels, 3)
            self.block(f'{src}.low3', f'{dst}.post_merge_block', channels,
                       channels)
        else:
            # block → upsample → add
            self.block(f'{src}.low3', f'{dst}.pre_upsample_block', channels,
                       channels)

    def network(self):
        """Their ``SGSC_PoseNet`` / ``PoseNet``."""
        spec = self.spec
        num_stacks, channels = spec.num_stacks, spec.channels
        num_keypoints = spec.num_keypoints
        c0, c1, c2 = spec.stem_channels
        self.conv('pre.0', 'backbone.stem.0', 3, c0, 7, bn=True)
        self.block('pre.1', 'backbone.stem.1', c0, c1)
        # pre.2 is the max-pool, as is backbone.stem.2
        self.block('pre.3', 'backbone.stem.3', c1, c2)
        self.block('pre.4', 'backbone.stem.4', c2, channels)
        for i in range(num_stacks):
            self.hourglass(f'hgs.{i}.0', f'backbone.hourglasses.{i}',
                           spec.depth, channels)
        for i in range(num_stacks):
            self.block(f'features.{i}.0', f'backbone.features.{i}.0', channels,
                       channels)
            self.conv(
                f'features.{i}.1',
                f'backbone.features.{i}.1',
                channels,
                channels,
                1,
                bn=True)
        for i in range(num_stacks):
            self.conv(f'outs.{i}', f'backbone.heatmap_convs.{i}', channels,
                      num_keypoints, 1)
        for i in range(num_stacks - 1):
            self.conv(f'merge_features.{i}.conv',
                      f'backbone.remap_features.{i}', channels, channels, 1)
        for i in range(num_stacks - 1):
            self.conv(f'merge_preds.{i}.conv', f'backbone.remap_heatmaps.{i}',
                      num_keypoints, channels, 1)


def _check_arch(arch: str) -> None:
    if arch not in ARCHS:
        raise ValueError(f'arch must be one of {sorted(ARCHS)}, got {arch!r}')


def reference_config(arch: str) -> Config:
    """The config of the released network ``arch``."""
    _check_arch(arch)
    return Config.fromfile(ARCHS[arch])


def reference_spec(arch: str) -> ReferenceSpec:
    """The sizes of the released network ``arch``, from its config."""
    backbone = reference_config(arch).model.backbone
    return ReferenceSpec(
        num_stacks=backbone.num_stacks,
        channels=backbone.stack_channels,
        num_keypoints=backbone.num_keypoints,
        depth=backbone.depth,
        stem_channels=tuple(backbone.stem_channels),
        soft_gated=backbone.block_cfg.type == 'HierarchicalBlock')


def reference_parameters(arch: str) -> 'OrderedDict[str, ReferenceParam]':
    """The state dict of a released reference network.

    Args:
        arch (str): ``'sgsc'`` (``SGSC_PoseNet(4, 144, 16)``) or ``'shg'``
            (``PoseNet(8, 256, 16)``).

    Returns:
        OrderedDict[str, ReferenceParam]: Their parameter and buffer names in
        their order, each with its shape and its name in the plugin's
        ``TopdownPoseEstimator`` (None if it is dropped).
    """
    builder = _TableBuilder(arch, reference_spec(arch))
    builder.network()
    return builder.table


def _problems(arch: str, state_dict: Mapping[str, Any]) -> StateDictMismatch:
    table = reference_parameters(arch)
    shapes = {k: p.shape for k, p in table.items()}
    return compare_state_dict(shapes, state_dict)


def convert_state_dict(
        state_dict: Mapping[str, Tensor],
        arch: str,
        source: Optional[str] = None) -> 'OrderedDict[str, Tensor]':
    """Rename a reference state dict to the plugin's parameter names.

    Args:
        state_dict (Mapping[str, Tensor]): Their ``model_state_dict``, with
            or without ``nn.DataParallel``'s ``module.`` prefix.
        arch (str): ``'sgsc'`` or ``'shg'``.
        source (str, optional): File name quoted in errors.

    Returns:
        OrderedDict[str, Tensor]: State dict of the plugin's
        ``TopdownPoseEstimator`` (``backbone.*``; the head has no weights).

    Raises:
        ValueError: Unknown ``arch``.
        CheckpointMismatchError: Missing or unexpected names, or shapes that
            differ; it holds all of them, its message lists the first 20 of
            each kind.
    """
    _check_arch(arch)
    table = reference_parameters(arch)
    state_dict = state_dict_of(state_dict)
    mismatch = _problems(arch, state_dict)
    if mismatch:
        hint = None
        for other in ARCHS:
            if other != arch and not _problems(other, state_dict):
                hint = f'(it is a state dict of --arch {other})'
        raise CheckpointMismatchError(arch, mismatch, source, hint)
    return OrderedDict((param.target, state_dict[name].detach().cpu())
                       for name, param in table.items()
                       if param.target is not None)


def load_reference_state_dict(path: str) -> Dict[str, Tensor]:
    """Load the state dict of a reference checkpoint without running code.

    Args:
        path (str): Their ``.tar`` checkpoint (``{'model_state_dict': ...,
            'optimizer_state_dict': ..., ...}``) or a bare state dict.

    Returns:
        dict[str, Tensor]: The model's state dict, on the CPU.
    """
    ckpt = read_checkpoint(path)
    if 'model_state_dict' in ckpt:
        ckpt = ckpt['model_state_dict']
    if not isinstance(ckpt, Mapping) or not all(
            isinstance(v, Tensor) for v in ckpt.values()):
        found = (
            sorted(map(str, ckpt))
            if isinstance(ckpt, Mapping) else type(ckpt).__name__)
        raise ValueError(f'{path}: expected a dict with "model_state_dict" '
                         f'or a state dict of tensors, found {found}')
    return dict(ckpt)


def mpii_dataset_meta() -> dict:
    """MMPose's MPII ``dataset_meta``, as ``MpiiDataset.metainfo`` holds it.

    Its colours, sigmas and weights stay numpy arrays, as MMPose's code
    computes with them (e.g. OKS); the plugin allow-lists numpy for
    ``torch.load(weights_only=True)``, as for the Runner's own checkpoints.
    """
    from copy import deepcopy

    from mmpose.datasets import MpiiDataset
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    return parse_pose_metainfo(deepcopy(MpiiDataset.METAINFO))


def check_against_config(checkpoint: dict, arch: str) -> None:
    """Raise unless ``checkpoint`` loads exactly into the model of the
    config of ``arch`` (the plugin's one checkpoint check)."""
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules

    import softgate_mmpose  # noqa: F401  (registers the plugin's modules)
    register_all_modules(init_default_scope=True)
    cfg = reference_config(arch)
    model = MODELS.build(cfg.model)
    check_checkpoint_compatibility(
        model,
        checkpoint,
        cfg,
        checkpoint_name=f'converted from --arch {arch}',
        config_name=ARCHS[arch])


def convert_checkpoint(src: str, dst: str, arch: str) -> dict:
    """Convert a reference checkpoint file into an MMPose checkpoint file.

    Nothing is written unless the whole state dict converts and fits the
    config's model; the output is written to a temporary file and renamed.

    Args:
        src (str): Their ``.tar`` checkpoint.
        dst (str): Output path (``.pth``).
        arch (str): ``'sgsc'`` or ``'shg'``.

    Returns:
        dict: The written checkpoint, ``{'state_dict': ..., 'meta': ...}``.
    """
    _check_arch(arch)
    if osp.abspath(src) == osp.abspath(dst):
        raise ValueError(f'{dst}: the output must not overwrite the input')
    state_dict = convert_state_dict(
        load_reference_state_dict(src), arch, source=src)
    checkpoint = dict(
        state_dict=state_dict,
        meta=dict(
            dataset_meta=mpii_dataset_meta(),
            converted_from=dict(
                repository=REFERENCE_URL, file=osp.basename(src), arch=arch)))
    check_against_config(checkpoint, arch)
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    with atomic_open(dst, 'wb') as f:
        torch.save(checkpoint, f)
    return checkpoint


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert a Soft_Gated_Pose_Estimation_Pytorch checkpoint '
        '({"model_state_dict": ...}) to an MMPose checkpoint.')
    parser.add_argument('src', metavar='IN', help='their .tar checkpoint')
    parser.add_argument('dst', metavar='OUT', help='output .pth file')
    parser.add_argument(
        '--arch',
        required=True,
        choices=sorted(ARCHS),
        help='sgsc: SGSC_PoseNet(4, 144, 16); shg: PoseNet(8, 256, 16)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        ckpt = convert_checkpoint(args.src, args.dst, args.arch)
    except (OSError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(f'{args.src} -> {args.dst}: {len(ckpt["state_dict"])} tensors '
          f'(--arch {args.arch})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
