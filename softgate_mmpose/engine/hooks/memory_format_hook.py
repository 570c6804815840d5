# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpose.registry import HOOKS

_FORMATS = dict(
    channels_last=torch.channels_last,
    contiguous_format=torch.contiguous_format)


@HOOKS.register_module()
class MemoryFormatHook(Hook):
    """Store the model's 4-D parameters and buffers in a memory format before
    the run.

    With channels-last conv weights, oneDNN runs the convs (forward and
    backward) in NHWC, which is faster on CPU for the narrow convs of small
    models; the model computes the same thing in either layout. Used by the
    quickstart configs as ``custom_hooks = [dict(type='MemoryFormatHook')]``,
    so ``tools/train.py``, ``tools/test.py`` and ``tools/quickstart.py`` all
    apply it.

    Args:
        memory_format (str): ``'channels_last'`` or ``'contiguous_format'``.
            Defaults to ``'channels_last'``.
    """

    priority = 'VERY_HIGH'

    def __init__(self, memory_format: str = 'channels_last'):
        if memory_format not in _FORMATS:
            raise ValueError(f'MemoryFormatHook: memory_format must be one of '
                             f'{sorted(_FORMATS)}, got {memory_format!r}')
        self.memory_format = memory_format

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        model.to(memory_format=_FORMATS[self.memory_format])
