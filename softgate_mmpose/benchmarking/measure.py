# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Measurements: parameter and MAC counts, timing, peak memory, other load.

Timing uses :class:`torch.utils.benchmark.Timer`: it sets torch's thread
count for the measurement only, synchronises an accelerator around every
block and reports per-call times of ``blocked_autorange``.
"""
import ctypes
import gc
import os
import statistics
import time
import warnings
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from torch.utils.benchmark import Timer


def count_params(model: nn.Module) -> int:
    """Number of parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, inputs: torch.Tensor) -> int:
    """MACs of one forward by mmengine's analysis (one MAC counts as one
    "flop"; convs, linear layers and matmuls, not norms or activations).

    A model with ``_forward`` (MMPose's estimators) is analysed on
    ``_forward`` as MMPose's ``tools/analysis_tools/get_flops.py`` does.
    Unlike ``get_model_complexity_info``, the analyser's warnings about
    modules the trace never called and operators it does not count are off:
    they list every module of the model, tens of kilobytes of log that
    say nothing about the count.
    """
    from mmengine.analysis import FlopAnalyzer

    has_forward = hasattr(model, '_forward')
    if has_forward:
        model.forward = model._forward
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # torch.jit.trace's TracerWarnings (shape-dependent Python code
            # in MMPose's heads) concern the trace, not the count.
            warnings.simplefilter('ignore')
            analyzer = FlopAnalyzer(model, (inputs, ))
            analyzer.unsupported_ops_warnings(False)
            analyzer.uncalled_modules_warnings(False)
            return int(analyzer.total())
    finally:
        if has_forward:
            del model.forward


def summarize(values: Sequence[float]) -> Dict[str, float]:
    """Median, quartiles (inclusive method), min, max and count."""
    values = sorted(values)
    if not values:
        raise ValueError('summarize() needs at least one value')
    if len(values) == 1:
        q1 = q3 = values[0]
    else:
        q1, _, q3 = statistics.quantiles(values, n=4, method='inclusive')
    return dict(
        median=statistics.median(values),
        p25=q1,
        p75=q3,
        min=values[0],
        max=values[-1],
        n=len(values))


def make_timer(fn: Callable[[torch.Tensor], object], inputs: torch.Tensor,
               threads: int) -> Timer:
    """A :class:`~torch.utils.benchmark.Timer` of ``fn(inputs)`` under
    ``torch.no_grad()`` with ``threads`` torch threads."""
    return Timer(
        stmt='with torch.no_grad(): fn(inputs)',
        globals=dict(fn=fn, inputs=inputs, torch=torch),
        num_threads=threads)


def time_block(timer: Timer, min_run_time: float) -> List[float]:
    """Seconds per call of one ``blocked_autorange`` block of at least
    ``min_run_time`` seconds (after one untimed call, its block-size
    estimate)."""
    measurement = timer.blocked_autorange(min_run_time=min_run_time)
    return list(measurement.times)


def release_memory() -> None:
    """Free Python garbage and give glibc's free heap pages back to the OS,
    so that a measurement reuses no resident memory freed by another one."""
    gc.collect()
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _proc_status_kb(field: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class PeakMemory:
    """Peak memory rise while a block runs, in MiB (``mb``).

    CPU: rise of the process's peak resident set (Linux ``VmHWM`` after
    resetting it through ``/proc/self/clear_refs``, minus ``VmRSS`` at the
    start), so it sees every allocation (torch, oneDNN, ONNX Runtime).
    CUDA: rise of ``torch.cuda.max_memory_allocated``. ``mb`` stays ``None``
    where neither is available.
    """

    def __init__(self, device: torch.device):
        self.device = device
        self.mb: Optional[float] = None
        self._start: Optional[int] = None

    def __enter__(self) -> 'PeakMemory':
        release_memory()
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = torch.cuda.memory_allocated(self.device)
        else:
            try:
                with open('/proc/self/clear_refs', 'w') as f:
                    f.write('5')  # resets the peak resident set (Linux)
                self._start = _proc_status_kb('VmRSS')
            except OSError:
                self._start = None
        return self

    def __exit__(self, *exc) -> None:
        if self._start is None:
            return
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
            self.mb = (peak - self._start) / 2**20
        else:
            peak_kb = _proc_status_kb('VmHWM')
            if peak_kb is not None:
                self.mb = max(peak_kb - self._start, 0) / 1024


class OtherLoad:
    """CPU time used by *other* processes while blocks run, in cores.

    The load average counts this benchmark's own threads, so it cannot tell
    whether the machine was quiet; this can. The meter may be entered
    several times (e.g. once per round): ``cores`` is the average over all
    its blocks. Linux only (``/proc/stat``); ``cores`` is ``None``
    elsewhere.
    """

    def __init__(self):
        self._other_s = 0.
        self._wall_s = 0.
        self._valid = True

    @staticmethod
    def _busy_s() -> Optional[float]:
        try:
            with open('/proc/stat') as f:
                fields = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        # user nice system idle iowait irq softirq steal: all but idle/iowait
        busy = sum(fields[:8]) - fields[3] - fields[4]
        return busy / os.sysconf('SC_CLK_TCK')

    @staticmethod
    def _own_s() -> float:
        times = os.times()
        return times.user + times.system

    def __enter__(self) -> 'OtherLoad':
        self._busy, self._own = self._busy_s(), self._own_s()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        busy = self._busy_s()
        if busy is None or self._busy is None:
            self._valid = False
            return
        own = self._own_s() - self._own
        self._other_s += max(busy - self._busy - own, 0.)
        self._wall_s += time.perf_counter() - self._wall

    @property
    def cores(self) -> Optional[float]:
        if not self._valid or self._wall_s <= 0:
            return None
        return self._other_s / self._wall_s


def tensor_mb(model: nn.Module) -> float:
    """MiB of a module's parameters and buffers."""
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors) / 2**20
