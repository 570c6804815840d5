# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The one-shot deploy transform: exact rewrites of a trained model into
fewer, larger operations for inference and export."""
import torch
import torch.nn as nn

__all__ = ['switch_to_deploy']


@torch.no_grad()
def switch_to_deploy(model: nn.Module) -> nn.Module:
    """Rewrite a trained model for inference, in place, once.

    Puts the model in eval mode and calls ``switch_to_deploy(test_cfg)`` of
    every module in it that defines one, the convention of MMPose's
    re-parameterisable layers (``BasePoseEstimator.switch_to_deploy`` does
    the same for the submodules of a pose estimator; it is not called
    itself, so every module is switched once). Modules without it are left
    as they are, so any model can be passed. The result equals the
    original in eval mode up to float rounding (within 1e-5 of the output
    peak) and is for inference only. Call it after loading the checkpoint,
    before exporting.

    The soft-gated hourglass's layers define no transform: the exact folds
    it allows (the merge BN into both halves of the split merge, the
    intermediate heatmap conv into the remap, the conv → BN pairs) were
    measured without effect in ONNX Runtime and OpenVINO, which fold the
    same pairs themselves (``docs/en/fast_inference.md``).

    Args:
        model (nn.Module): A model in any mode, e.g. a top-down pose
            estimator.

    Returns:
        nn.Module: ``model``, in eval mode.
    """
    from mmpose.models.pose_estimators.base import BasePoseEstimator

    model.eval()
    test_cfg = getattr(model, 'test_cfg', None)
    # A list first: the transforms remove modules.
    for module in list(model.modules()):
        if isinstance(module, BasePoseEstimator):
            continue  # its switch_to_deploy only dispatches, as this does
        transform = getattr(module, 'switch_to_deploy', None)
        if callable(transform):
            transform(test_cfg)
    return model
