# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""The one-shot deploy transform: exact rewrites of a trained model into
fewer, larger operations for inference and export."""
import torch
import torch.nn as nn

__all__ = ['switch_to_deploy']


@torch.no_grad()
def switch_to_deploy(model: nn.Module) -> nn.Module:
    """Rewrite a trained model for inference, in place, once.

    Puts the model in eval mode and calls ``switch_to_deploy()`` of every
    module in it (itself included) that defines it (the convention of re-parameterisable blocks
    in OpenMMLab), children before parents so that a parent sees its
    children's deployed form. Modules without it are left as they are, so
    any model can be passed. The result equals the original in eval mode up
    to float rounding (within 1e-5 of the output peak) and is for inference
    only: call it after loading the checkpoint, before exporting.

    Args:
        model (nn.Module): A model in any mode, e.g. a top-down pose
            estimator.

    Returns:
        nn.Module: ``model``, in eval mode.
    """
    model.eval()
    modules = list(model.modules())
    # modules() lists parents before their children: reversed, every child
    # is transformed before its parent.
    for module in reversed(modules):
        transform = getattr(module, 'switch_to_deploy', None)
        if callable(transform):
            transform()
    return model
