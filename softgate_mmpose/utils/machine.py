# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The machine a figure was measured on: its CPU's name and its reference
figure, the MAC rate of one 3×3 convolution.

A single ``Conv2d(144, 144, 3)`` on a 144×64×64 map at batch 1 runs at
about the best rate the machine's convolution kernels reach for the
feature maps of a 144-channel hourglass; a model's own MAC rate, and any
timing, is read against it.
"""
import os
import platform
from typing import List, Optional

import torch
import torch.nn as nn

CHANNELS = 144
SIZE = 64
#: Memory formats the conv is timed in.
LAYOUTS = (('nchw', torch.contiguous_format), ('channels_last',
                                               torch.channels_last))


def cpu_name() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (Linux), else
    ``platform``'s guess."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """The CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def reference_conv_macs(channels: int = CHANNELS, size: int = SIZE) -> int:
    """MACs of a C×C 3×3 conv (no bias, padding 1) on a C×S×S map."""
    return channels * channels * 9 * size * size


def reference_conv_gmacs(threads: Optional[int] = None,
                         rounds: int = 3,
                         repeats: int = 20,
                         device: str = 'cpu') -> dict:
    """MAC rate of ``Conv2d(144, 144, 3, padding=1)`` on 1×144×64×64.

    Timed with :class:`torch.utils.benchmark.Timer` (torch's thread count is
    set for the measurement only) in eval mode under ``torch.no_grad()``,
    in the NCHW and the channels-last memory format, ``rounds`` rounds of
    ``repeats`` calls per layout. Other processes can only slow a round
    down, so each layout keeps its fastest round.

    Args:
        threads: Torch threads; default: the CPUs this process may use.
        rounds: Rounds per layout.
        repeats: Timed calls per round (after two untimed ones).
        device: ``'cpu'`` or ``'cuda'``.

    Returns:
        dict: ``description``, ``macs``, ``threads``, per layout (``nchw``,
        ``channels_last``) ``latency_ms`` (median per call of the fastest
        round) and ``gmac_per_s``, ``gmac_per_s`` of the faster layout,
        and ``rounds``.

    Raises:
        ValueError: If ``threads``, ``rounds`` or ``repeats`` is below 1.
    """
    from torch.utils.benchmark import Timer

    threads = usable_cores() if threads is None else threads
    if threads < 1 or rounds < 1 or repeats < 1:
        raise ValueError('threads, rounds and repeats must be >= 1, got '
                         f'{threads}, {rounds}, {repeats}')
    c, s = CHANNELS, SIZE
    macs = reference_conv_macs(c, s)
    conv = nn.Conv2d(c, c, 3, padding=1, bias=False).to(device).eval()
    x = torch.randn(1, c, s, s, device=device)
    per_round: List[dict] = []
    for _ in range(rounds):
        measured = {}
        for layout, fmt in LAYOUTS:
            timer = Timer(
                stmt='with torch.no_grad(): conv(x)',
                globals=dict(
                    conv=conv.to(memory_format=fmt),
                    x=x.contiguous(memory_format=fmt),
                    torch=torch),
                num_threads=threads)
            seconds = timer.timeit(repeats).median
            measured[layout] = dict(
                latency_ms=seconds * 1e3, gmac_per_s=macs / seconds / 1e9)
        per_round.append(measured)
    result = dict(
        description=f'Conv2d({c}, {c}, 3, padding=1), batch 1, {c}x{s}x{s}',
        macs=macs,
        threads=threads,
        rounds=per_round)
    return _best_of_rounds(result)


def combine_rounds(results: List[dict]) -> dict:
    """Merge results of :func:`reference_conv_gmacs` measured at different
    times (e.g. before and after the models): every round kept, per layout
    the fastest."""
    merged = dict(results[0])
    merged['rounds'] = [r for res in results for r in res['rounds']]
    return _best_of_rounds(merged)


def _best_of_rounds(result: dict) -> dict:
    for layout, _ in LAYOUTS:
        result[layout] = max((r[layout] for r in result['rounds']),
                             key=lambda m: m['gmac_per_s'])
    result['gmac_per_s'] = max(result[layout]['gmac_per_s']
                               for layout, _ in LAYOUTS)
    return result


__all__ = [
    'cpu_name', 'usable_cores', 'reference_conv_gmacs', 'reference_conv_macs',
    'combine_rounds'
]
