# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Evaluation of row-local layers in horizontal strips.

A chain of stride-1 "same" convolutions with zero padding, eval-mode batch
norms and point-wise activations is row-local: output row ``i`` depends only
on input rows ``i - halo .. i + halo``, and the zero padding matters only at
the border of the image. Such a layer can therefore be run on overlapping
horizontal strips of its input (each extended by ``halo`` rows where it has
neighbours) and the exact rows cropped from each result.

This is an eval-mode memory optimisation: a full-resolution block of the
stem keeps several 4–8 MiB maps of 128×128 pixels alive at once, and glibc
returns that freed memory to the OS after every forward pass, so the next
pass faults it back in page by page (about 5,000 faults, 20 MiB, per pass of
the default model at batch 1). In strips of a few rows the
intermediates are about 1 MiB each and are reused from the heap.
"""
from typing import Callable, Iterable, Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm


def conv_chain_halo(convs: Iterable[ConvModule]) -> Optional[int]:
    """Halo of a chain of :class:`~mmcv.cnn.ConvModule` layers applied one
    after the other (eval mode).

    Args:
        convs (Iterable[ConvModule]): The layers, in order.

    Returns:
        int | None: Rows of input context on each side that one output row
        depends on, or ``None`` if a layer is not row-local (a strided,
        non-"same" or non-zero-padded conv, another conv type, or a norm
        other than an eval-mode batch norm, e.g. a group norm, which mixes
        all rows).
    """
    halo = 0
    for cm in convs:
        conv = cm.conv
        if (type(conv) is not nn.Conv2d or conv.padding_mode != 'zeros'
                or cm.with_explicit_padding or conv.stride != (1, 1)):
            return None
        k, d, p = conv.kernel_size[0], conv.dilation[0], conv.padding[0]
        if p != d * (k - 1) // 2 or (k - 1) % 2:
            return None
        if cm.with_norm and not (isinstance(cm.norm, _BatchNorm)
                                 and not cm.norm.training):
            return None
        halo += p
    return halo


def forward_in_strips(fn: Callable[[Tensor], Tensor],
                      x: Tensor,
                      halo: int,
                      rows: int,
                      post: Optional[Callable[[Tensor], Tensor]] = None
                      ) -> Tensor:
    """``post(fn(x))``, computed strip by strip.

    Args:
        fn (Callable): A row-local layer (see :func:`conv_chain_halo`) that
            keeps the height: (N, C, H, W) → (N, C', H, W).
        x (Tensor): Input, shape (N, C, H, W).
        halo (int): Rows of context ``fn`` needs on each side.
        rows (int): Height of a strip (the last may be shorter). With a
            ``post`` that pools by a factor ``s``, a multiple of ``s``.
        post (Callable, optional): A layer applied to each cropped strip
            whose output rows depend only on its own strip, such as a 2×2
            max pooling with stride 2. Defaults to None.

    Returns:
        Tensor: ``post(fn(x))`` (or ``fn(x)``), the strips concatenated along
        the height; equal to the whole-map result.
    """
    height = x.shape[2]
    if rows >= height:
        out = fn(x)
        return out if post is None else post(out)
    # Each strip dense in the input's layout (a no-op copy for a
    # channels-last map of one image, whose row ranges are dense already).
    layout = (torch.channels_last if x.dim() == 4 and not x.is_contiguous()
              and x.is_contiguous(memory_format=torch.channels_last) else
              torch.contiguous_format)
    strips = []
    for start in range(0, height, rows):
        stop = min(start + rows, height)
        lo, hi = max(start - halo, 0), min(stop + halo, height)
        part = x[:, :, lo:hi].contiguous(memory_format=layout)
        out = fn(part)[:, :, start - lo:stop - lo]
        strips.append(out if post is None else post(out))
    return torch.cat(strips, dim=2)
