# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
import torch.nn.functional as F
from torch import Tensor


def add_upsampled_(out: Tensor, low: Tensor) -> Tensor:
    """``out += interpolate(low, size=out.shape[-2:], mode='nearest')`` in
    place.

    For the hourglass's exact 2× factor the lower map is broadcast over 2×2
    blocks of ``out`` (a view; any memory format) instead of materialising
    the upsampled map, which is a fresh full-resolution allocation per merge
    and, in NCHW, a slow kernel. Same values: nearest 2× upsampling repeats
    each pixel over a 2×2 block.

    Args:
        out (Tensor): Full-resolution map, shape (N, C, H, W); overwritten.
        low (Tensor): Lower map, shape (N, C, h, w).

    Returns:
        Tensor: ``out``.
    """
    n, c, h, w = low.shape
    if out.shape != (n, c, 2 * h, 2 * w):
        return out.add_(F.interpolate(low, size=out.shape[-2:],
                                      mode='nearest'))
    # (N, C, h, 2, w, 2) += (N, C, h, 1, w, 1)
    out.unflatten(3, (w, 2)).unflatten(2, (h, 2)).add_(
        low[:, :, :, None, :, None])
    return out
