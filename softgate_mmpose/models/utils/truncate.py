# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Run a stacked model up to stack K: choose the number of stacks at deploy
time, after loading a checkpoint of the full model."""
import torch.nn as nn

__all__ = ['truncate_stacks']


def truncate_stacks(model: nn.Module, num_stacks: int) -> nn.Module:
    """Keep stacks 1..K of a stacked hourglass pose estimator, in place.

    Every stack of a stacked hourglass is trained to predict the heatmaps
    (intermediate supervision), so the network cut after stack K is a
    smaller pose model: its output is exactly the K-th output of the full
    network. The modules of the later stacks are deleted (not skipped), and
    ``num_stacks`` of the backbone and ``num_stages`` of a multi-stage head
    (``CPMHead``) are set to K, so that ``forward``, ``predict``,
    ``test_step`` and an ONNX export all run and decode stack K.

    Call it after loading the full model's checkpoint: the remaining
    parameters keep their names, the deleted ones are gone.

    Supported backbones: :class:`SoftGatedStackedHourglass` and MMPose's
    ``HourglassNet``.

    Args:
        model (nn.Module): A top-down pose estimator (``model.backbone``,
            ``model.head``) or a bare stacked backbone.
        num_stacks (int): Number of stacks K to keep, 1..num_stacks.

    Returns:
        nn.Module: ``model``, truncated.

    Raises:
        ValueError: If the model has no stacks, or K is outside
            1..num_stacks.
    """
    backbone = getattr(model, 'backbone', model)
    total = _num_stacks_of(backbone)
    if total is None:
        raise ValueError(
            f'truncate_stacks: {type(backbone).__name__} has no stacks '
            '(expected SoftGatedStackedHourglass or HourglassNet)')
    if isinstance(num_stacks, bool) or not isinstance(num_stacks, int) \
            or not 1 <= num_stacks <= total:
        raise ValueError(f'num_stacks must be an integer in 1..{total} '
                         f'(the model has {total} stacks), got {num_stacks!r}')
    head = getattr(model, 'head', None) if backbone is not model else None
    multi_stage = head is not None and hasattr(head, 'num_stages')
    if head is not None and not multi_stage and \
            not _outputs_heatmaps(backbone) and num_stacks < total:
        # HourglassNet outputs features; a single-stage head only ever
        # saw the last stack's.
        raise ValueError(
            f'truncate_stacks: {type(head).__name__} decodes only the last '
            f'of the {total} stacks; stacks 1..{num_stacks} cannot be '
            'used alone (a multi-stage head such as CPMHead is needed)')
    if multi_stage and head.num_stages != total:
        raise ValueError(
            f'truncate_stacks: the head has {head.num_stages} stages but the '
            f'backbone {total} stacks')
    if num_stacks == total:
        return model
    _truncate_backbone(backbone, num_stacks)
    if multi_stage:
        _truncate_multi_stage_head(head, total, num_stacks)
    return model


def _outputs_heatmaps(backbone: nn.Module) -> bool:
    """Whether the backbone itself outputs each stack's heatmaps."""
    from ..backbones import SoftGatedStackedHourglass
    return isinstance(backbone, SoftGatedStackedHourglass)


def _num_stacks_of(backbone: nn.Module):
    """The number of stacks of a known stacked backbone, else None."""
    from mmpose.models.backbones import HourglassNet

    from ..backbones import SoftGatedStackedHourglass
    if isinstance(backbone, (SoftGatedStackedHourglass, HourglassNet)):
        return backbone.num_stacks
    return None


def _truncate_backbone(backbone: nn.Module, num_stacks: int) -> None:
    """Delete the modules of stacks K+1.. of a stacked backbone.

    Per-stack module lists keep their first K entries; the lists between
    stacks (K - 1 of them are used by K stacks) their first K - 1.
    """
    from mmpose.models.backbones import HourglassNet
    if isinstance(backbone, HourglassNet):
        # MMPose's HourglassNet: per stack hourglass_modules and out_convs,
        # between stacks conv1x1s, remap_convs and inters (a Sequential).
        per_stack = ('hourglass_modules', 'out_convs')
        between = ('conv1x1s', 'remap_convs', 'inters')
    else:
        per_stack = ('hourglasses', 'features', 'heatmap_convs')
        between = ('remap_features', 'remap_heatmaps')
    for name in per_stack:
        setattr(backbone, name, _first(getattr(backbone, name), num_stacks))
    for name in between:
        setattr(backbone, name,
                _first(getattr(backbone, name), num_stacks - 1))
    backbone.num_stacks = num_stacks


def _first(modules: nn.Module, n: int) -> nn.Module:
    """The first ``n`` entries of a module list or sequential, under the
    same parameter names."""
    if isinstance(modules, nn.Sequential):
        # Sequential subclasses (MMPose's ResLayer) cannot be sliced: they
        # are rebuilt from constructor arguments.
        return nn.Sequential(*list(modules)[:n])
    return modules[:n]


def _truncate_multi_stage_head(head: nn.Module, total: int,
                               num_stacks: int) -> None:
    """Keep the first K stages of a multi-stage head (``CPMHead``).

    Its forward asserts one input per stage and its ``predict`` decodes the
    last stage, so the head must see exactly the K remaining stacks.
    """
    for name in ('multi_deconv_layers', 'multi_final_layers'):
        layers = getattr(head, name, None)
        if isinstance(layers, nn.ModuleList):
            setattr(head, name, _first(layers, num_stacks))
    # A list of per-stage losses is built as a ModuleList/Sequential.
    loss = getattr(head, 'loss_module', None)
    if isinstance(loss, (nn.ModuleList, nn.Sequential)) and len(loss) == total:
        head.loss_module = _first(loss, num_stacks)
    head.num_stages = num_stacks
