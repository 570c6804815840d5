# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Eval-mode fast paths of :class:`mmcv.cnn.ConvModule` with the batch norm
folded into the conv.

In eval mode a batch norm is a per-channel affine map ``s·x + t``. It folds
into the conv before it (``conv → norm → act``) as usual and, for the
pre-activation order ``norm → ReLU → conv``, into the conv after it through
the positive homogeneity of ReLU: ``ReLU(s·x + t) = s·ReLU(x + t/s)`` for
``s > 0``, so ``s`` scales the conv's input channels and one fused add-ReLU
pass is left. The folded weights are cached on the module, keyed by the
storage and autograd version of every tensor they derive from, so an
optimizer step, ``load_state_dict`` or ``.to()`` rebuilds them (in-place
writes through ``.data`` bypass the version counter; call
:func:`clear_eval_cache` after those). With gradients enabled nothing is
cached and the fold is recomputed on each call, so parameters still get
gradients. Any other layer type, order or a norm in training mode falls
back to the module's own forward.

On CPU, a conv on a channels-last map of at least 16×16 pixels runs as
oneDNN's ``_convolution_pointwise`` with the weight reordered once into the
blocked layout oneDNN wants (cached per input shape; ``F.conv2d`` reorders it
on every call) and a following ReLU fused into the conv. Smaller maps keep
``F.conv2d``, whose direct kernels have less per-call overhead there.
"""
from typing import Callable, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

_CACHE_ATTR = '_eval_fusion_cache'
# ReLU(x + b) in one pass (the kernel behind FX's add-relu fusion).
_add_relu = getattr(torch.ops.aten, '_add_relu', None)
# oneDNN's conv with a pre-reordered weight (what Inductor's CPU freezing
# pass emits); below 16×16 outputs F.conv2d is as fast or faster.
_ONEDNN_MIN_PIXELS = 16 * 16
_onednn = (
    torch.backends.mkldnn.is_available()
    and hasattr(torch.ops.mkldnn, '_convolution_pointwise')
    and hasattr(torch.ops.mkldnn, '_reorder_convolution_weight'))


class _EvalCache(dict):
    """Cache of derived weights: copies and pickles of a module start empty
    (it is rebuilt on demand; oneDNN's reordered weights cannot be copied)."""

    def __deepcopy__(self, memo) -> '_EvalCache':
        return _EvalCache()

    def __reduce__(self):
        return _EvalCache, ()


class FoldedConv:
    """A conv's weight and bias with a norm or scale folded in (eval mode).

    Args:
        conv (nn.Conv2d): The conv (stride, padding, dilation, groups).
        weight (Tensor): Folded weight, (C_out, C_in / groups, kh, kw).
        bias (Tensor, optional): Folded bias, (C_out, ).
    """

    __slots__ = ('conv', 'weight', 'bias', '_packed')

    def __init__(self, conv: nn.Conv2d, weight: Tensor,
                 bias: Optional[Tensor]):
        self.conv = conv
        self.weight = weight
        self.bias = bias
        self._packed = {}  # input shape -> oneDNN weight

    def __call__(self, x: Tensor, relu: bool = False) -> Tensor:
        """``conv(x)``, and its ReLU if ``relu``.

        Args:
            x (Tensor): Input, shape (N, C_in, H, W).
            relu (bool): Apply a ReLU to the output. Defaults to False.

        Returns:
            Tensor: A fresh tensor, shape (N, C_out, H', W').
        """
        conv = self.conv
        if (_onednn and x.device.type == 'cpu' and x.dtype == torch.float32
                and x.shape[-2] * x.shape[-1] >= _ONEDNN_MIN_PIXELS
                and _channels_last(x) and not torch.is_grad_enabled()
                and not torch.jit.is_tracing()):
            shape = tuple(x.shape)
            padding, stride, dilation = (list(conv.padding),
                                         list(conv.stride),
                                         list(conv.dilation))
            weight = self._packed.get(shape)
            if weight is None:
                weight = torch.ops.mkldnn._reorder_convolution_weight(
                    self.weight, padding, stride, dilation, conv.groups,
                    list(shape))
                self._packed[shape] = weight
            return torch.ops.mkldnn._convolution_pointwise(
                x, weight, self.bias, padding, stride, dilation, conv.groups,
                'relu' if relu else 'none', [], '')
        out = F.conv2d(x, self.weight, self.bias, conv.stride, conv.padding,
                       conv.dilation, conv.groups)
        return out.relu_() if relu else out


def _tensor_state(t: Optional[Tensor]) -> Optional[tuple]:
    # new storage (.to(), assignment) or an in-place write (version bump)
    if t is None:
        return None
    return (t.data_ptr(), 0 if t.is_inference() else t._version)


def _cached(module: nn.Module, name: str, tensors: Sequence[Optional[Tensor]],
            compute: Callable[[], tuple]) -> tuple:
    """``compute()``, cached on ``module`` under ``name`` while ``tensors``
    are unchanged; not cached when gradients are enabled."""
    if torch.is_grad_enabled():
        return compute()
    cache = module.__dict__.get(_CACHE_ATTR)
    if cache is None:
        cache = module.__dict__[_CACHE_ATTR] = _EvalCache()
    key = tuple(_tensor_state(t) for t in tensors)
    hit = cache.get(name)
    if hit is not None and hit[0] == key:
        return hit[1]
    value = compute()
    cache[name] = (key, value)
    return value


def clear_eval_cache(module: nn.Module) -> None:
    """Drop the folded weights cached on ``module`` and its children."""
    for m in module.modules():
        m.__dict__.pop(_CACHE_ATTR, None)


def _plain_conv(cm: ConvModule) -> bool:
    """Whether ``cm.conv`` is a plain zero-padded ``nn.Conv2d``."""
    conv = cm.conv
    return (type(conv) is nn.Conv2d and conv.padding_mode == 'zeros'
            and not cm.with_explicit_padding
            and not getattr(cm, 'with_spectral_norm', False))


def _eval_bn(norm: nn.Module) -> bool:
    """Whether ``norm`` is a batch norm normalising with running stats."""
    # (buffers read from the dict: Module.__getattr__ is slow on this path)
    return (isinstance(norm, _BatchNorm) and not norm.training
            and norm._buffers.get('running_mean') is not None
            and norm._buffers.get('running_var') is not None)


def _norm_tensors(norm: _BatchNorm) -> list:
    """Affine parameters and running stats of ``norm``."""
    return [*norm._parameters.values(), *norm._buffers.values()]


def _conv_norm_tensors(cm: ConvModule) -> list:
    """Every tensor a folded ``conv → norm`` is derived from."""
    conv = cm.conv
    return [conv.weight, conv.bias] + (
        _norm_tensors(cm.norm) if cm.with_norm else [])


def bn_affine(norm: _BatchNorm) -> Tuple[Tensor, Tensor]:
    """Scale and shift (C,) of an eval-mode batch norm:
    ``norm(x) = scale·x + shift`` per channel."""
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale
    if norm.bias is not None:
        shift = shift + norm.bias
    return scale, shift


def _channels_last(x: Tensor) -> bool:
    """Whether ``x`` is laid out channels-last (NHWC) and not also NCHW."""
    return (x.dim() == 4 and not x.is_contiguous()
            and x.is_contiguous(memory_format=torch.channels_last))


def _like_input(weight: Tensor, channels_last: bool) -> Tensor:
    """``weight`` in the layout of the conv's input, so that the conv does
    not convert it on every call."""
    return weight.contiguous(memory_format=torch.channels_last
                             if channels_last else torch.contiguous_format)


def _folded_conv_norm(cm: ConvModule, channels_last: bool) -> FoldedConv:
    """``conv → norm`` as one conv (or the conv alone without a norm)."""
    conv = cm.conv

    def compute():
        if not cm.with_norm:
            return FoldedConv(conv, _like_input(conv.weight, channels_last),
                              conv.bias)
        scale, shift = bn_affine(cm.norm)
        weight = conv.weight * scale.view(-1, 1, 1, 1)
        bias = shift if conv.bias is None else conv.bias * scale + shift
        return FoldedConv(conv, _like_input(weight, channels_last), bias)

    return _cached(cm, f'conv_norm{int(channels_last)}',
                   _conv_norm_tensors(cm), compute)


def _foldable_conv_norm(cm: ConvModule) -> bool:
    return (cm.order == ('conv', 'norm', 'act') and _plain_conv(cm)
            and (not cm.with_norm or _eval_bn(cm.norm)))


def conv_norm_act(cm: ConvModule, x: Tensor) -> Tensor:
    """``cm(x)`` for the order conv → norm → act, the norm folded into the
    conv (also for a module without a norm: the cached weight layout and the
    fused ReLU still apply).

    Args:
        cm (ConvModule): The module, in eval mode.
        x (Tensor): Input, shape (N, C_in, H, W).

    Returns:
        Tensor: ``cm(x)`` within float rounding, shape (N, C_out, H', W').
    """
    if not _foldable_conv_norm(cm):
        return cm(x)
    folded = _folded_conv_norm(cm, _channels_last(x))
    if not cm.with_activation:
        return folded(x)
    if type(cm.activate) is nn.ReLU:
        return folded(x, relu=True)
    return cm.activate(folded(x))


def split_conv_norm(cm: ConvModule,
                    channels: int,
                    channels_last: bool = False
                    ) -> Optional[Tuple[FoldedConv, FoldedConv]]:
    """A 1×1 ``conv → norm`` on ``cat(a, b)`` as ``conv_a(a) + conv_b(b)``.

    A 1×1 conv is a per-pixel linear map, so it splits over the input
    channels, and ``conv_b`` commutes with nearest upsampling of ``b``.

    Args:
        cm (ConvModule): A 1×1, stride-1, ungrouped module, in eval mode.
        channels (int): Channels of ``a``, the first part of the input.
        channels_last (bool): Lay the weights out for channels-last inputs.

    Returns:
        tuple | None: ``(conv_a, conv_b)`` with the norm folded in (the bias
        in ``conv_a``), or ``None`` if ``cm`` does not qualify (use ``cm``
        itself then).
    """
    conv = cm.conv
    if not (_foldable_conv_norm(cm) and conv.kernel_size == (1, 1)
            and conv.stride == (1, 1) and conv.groups == 1):
        return None
    folded = _folded_conv_norm(cm, channels_last)

    def compute():
        weight = folded.weight
        return (FoldedConv(conv,
                           _like_input(weight[:, :channels], channels_last),
                           folded.bias),
                FoldedConv(conv,
                           _like_input(weight[:, channels:], channels_last),
                           None))

    return _cached(cm, f'split{channels}_{int(channels_last)}',
                   _conv_norm_tensors(cm), compute)


def _preact_layers(cm: ConvModule) -> Optional[tuple]:
    """``(conv, norm, relu)`` of a plain-conv BN module in the order
    norm → act → conv, else ``None``; cached while its children stay the
    same objects (this runs once per block layer and forward)."""
    children = tuple(cm._modules.values())
    hit = cm.__dict__.get('_eval_fusion_layers')
    if hit is not None and hit[0] == children:
        return hit[1]
    layers = None
    if (cm.order == ('norm', 'act', 'conv') and cm.with_norm
            and _plain_conv(cm)):
        relu = cm.with_activation and type(cm.activate) is nn.ReLU
        layers = (cm.conv, cm.norm, relu)
    cm.__dict__['_eval_fusion_layers'] = (children, layers)
    return layers


def norm_act_conv(cm: ConvModule, x: Tensor) -> Tensor:
    """``cm(x)`` for the pre-activation order norm → act → conv, the norm
    folded into the conv.

    With a ReLU and positive norm scales this is ``conv'(ReLU(x + t/s))``
    (one fused pass before the conv); otherwise the norm runs as one
    multiply-add with cached scale and shift.

    Args:
        cm (ConvModule): The module, in eval mode.
        x (Tensor): Input, shape (N, C_in, H, W).

    Returns:
        Tensor: ``cm(x)`` within float rounding, shape (N, C_out, H', W').
    """
    layers = _preact_layers(cm)
    if layers is None or not _eval_bn(layers[1]):
        return cm(x)
    conv, norm, relu = layers
    channels_last = _channels_last(x)

    def compute():
        scale, shift = bn_affine(norm)
        if (relu and _add_relu is not None and conv.groups == 1
                and bool((scale > 0).all())):
            weight = conv.weight * scale.view(1, -1, 1, 1)
            return (FoldedConv(conv, _like_input(weight, channels_last),
                               conv.bias),
                    (shift / scale).view(1, -1, 1, 1), None)
        return (FoldedConv(conv, _like_input(conv.weight, channels_last),
                           conv.bias),
                shift.view(1, -1, 1, 1), scale.view(1, -1, 1, 1))

    folded, shift, scale = _cached(
        cm, f'norm_act_conv{int(channels_last)}',
        [conv._parameters['weight'], conv._parameters['bias'],
         *_norm_tensors(norm)], compute)
    if scale is None:
        # _add_relu has no derivative
        x = (x + shift).relu_() if torch.is_grad_enabled() else _add_relu(
            x, shift)
    else:
        x = torch.addcmul(shift, x, scale)
        if cm.with_activation:
            x = cm.activate(x)
    return folded(x)


def scaled_conv(cm: ConvModule, x: Tensor, scale: Optional[Tensor]) -> Tensor:
    """``scale * cm(x)`` for a conv-only module (no norm, no act) as one
    conv, ``scale`` (per output channel or scalar) folded into its weight
    and bias.

    Args:
        cm (ConvModule): A module without norm and activation, in eval mode.
        x (Tensor): Input, shape (N, C_in, H, W).
        scale (Tensor, optional): Shape (1, C_out, 1, 1) or (1, ); ``None``
            for no scaling.

    Returns:
        Tensor: ``scale * cm(x)`` within float rounding, a fresh tensor of
        shape (N, C_out, H', W').
    """
    if (scale is None or cm.with_norm or cm.with_activation
            or not _plain_conv(cm)):
        out = cm(x)
        return out if scale is None else out * scale
    conv = cm.conv
    channels_last = _channels_last(x)

    def compute():
        s = scale.reshape(-1).expand(conv.out_channels)
        weight = conv.weight * s.view(-1, 1, 1, 1)
        bias = None if conv.bias is None else conv.bias * s
        return FoldedConv(conv, _like_input(weight, channels_last), bias)

    return _cached(cm, f'scaled{int(channels_last)}',
                   [conv.weight, conv.bias, scale], compute)(x)
