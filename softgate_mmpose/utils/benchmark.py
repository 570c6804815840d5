# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Side-by-side benchmark of MMPose pose estimators (the logic of
``tools/analysis_tools/benchmark.py``).

Every model is built as MMPose builds it for inference
(:func:`mmpose.apis.init_model`, ``eval()``, no checkpoint) and measured on
its network forward ``model._forward(inputs)`` under ``torch.no_grad()``:
backbone, neck and head on an already normalised image batch of the
config's input size. Data loading, the data preprocessor, flip test and
heatmap decoding are excluded. MACs come from mmengine's analysis exactly as
MMPose's ``tools/analysis_tools/get_flops.py`` computes them (``forward``
bound to ``_forward``; mmengine counts one multiply-accumulate as one
"flop", and counts convolutions, linear layers and matmuls but not norms,
activations, pooling, upsampling or element-wise ops).
"""
import csv
import ctypes
import datetime
import gc
import importlib.util
import io
import json
import math
import os
import os.path as osp
import platform
import statistics
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config

# The single-conv reference of the MAC-rate target: C×C 3×3 conv, C×S×S map.
REF_CONV_CHANNELS = 144
REF_CONV_SIZE = 64

# Speed targets of the default soft-gated model (issue 7): latency at batch 1
# relative to a reference model, and MAC rate relative to the single conv.
DEFAULT_TARGET = 'td-hm_softgate-hg4-c144'
LATENCY_TARGETS = (('Hourglass-52', 'hourglass52', 0.30),
                   ('HRNet-W32', 'hrnet-w32', 0.75))
MAC_RATE_TARGET = 0.60

# Memory layouts of the reference conv.
LAYOUTS = (('nchw', torch.contiguous_format),
           ('channels_last', torch.channels_last))

# Metric names tried, in order, when no accuracy key is given.
ACCURACY_KEYS = ('PCKh', 'PCK', 'Mean', 'AP', 'PCK@0.2', 'AUC')

CSV_COLUMNS = ('name', 'config', 'params', 'macs', 'params_M', 'gmacs',
               'latency_ms', 'latency_ms_p25', 'latency_ms_p75',
               'latency_ms_min', 'latency_ms_max', 'throughput',
               'throughput_p25', 'throughput_p75', 'gmac_per_s',
               'peak_mem_mb', 'weights_mb', 'accuracy', 'accuracy_key',
               'other_load')


class BenchmarkError(ValueError):
    """Bad input of the benchmark (a config, an accuracy file, an option)."""


# ----------------------------------------------------------------- configs


def resolve_config_path(config: str) -> str:
    """Path of a config file, also for ``package::relative/path.py``.

    ``mmpose::body_2d_keypoint/...py`` is looked up in the installed
    package's ``.mim/configs`` folder, where mmengine finds ``_base_``
    configs of that form.

    Raises:
        BenchmarkError: If the package or the file does not exist.
    """
    if '::' in config:
        package, _, rel_path = config.partition('::')
        spec = importlib.util.find_spec(package) if package else None
        if spec is None or spec.origin is None:
            raise BenchmarkError(
                f'{config}: package {package!r} is not installed')
        path = osp.join(
            osp.dirname(spec.origin), '.mim', 'configs', rel_path)
    else:
        path = config
    if not osp.isfile(path):
        raise BenchmarkError(f'{config}: config file not found ({path})')
    return path


def config_name(config: str) -> str:
    """Short name of a config: its file name without ``.py``."""
    return osp.splitext(osp.basename(config.split('::')[-1]))[0]


def input_size_of(cfg: Config, config: str) -> Tuple[int, int]:
    """Input (width, height) of a top-down config, from its codec.

    Raises:
        BenchmarkError: If the config has no codec input size.
    """
    candidates = [cfg.get('codec')]
    head = cfg.get('model', {}).get('head') or {}
    candidates.append(head.get('decoder'))
    for codec in candidates:
        if isinstance(codec, list):  # multi-codec configs: first one
            codec = codec[0] if codec else None
        if isinstance(codec, dict) and 'input_size' in codec:
            width, height = codec['input_size']
            return int(width), int(height)
    raise BenchmarkError(
        f'{config}: no codec input_size found (cfg.codec or '
        'cfg.model.head.decoder); pass --input-size W H')


# ------------------------------------------------------------ measurements


def count_params(model: nn.Module) -> int:
    """Number of parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, inputs: torch.Tensor) -> int:
    """MACs of ``model._forward(inputs)`` by mmengine's analysis.

    As MMPose's ``get_flops.py``: ``forward`` is bound to ``_forward`` (the
    instance attribute is removed again afterwards).
    """
    from mmengine.analysis import get_model_complexity_info

    if not hasattr(model, '_forward'):
        # A plain module (the reference conv) is analysed as it is.
        return int(
            get_model_complexity_info(
                model,
                inputs=(inputs, ),
                show_table=False,
                show_arch=False)['flops'])
    model.forward = model._forward
    try:
        info = get_model_complexity_info(
            model, inputs=(inputs, ), show_table=False, show_arch=False)
    finally:
        del model.forward
    return int(info['flops'])


def summarize(values: Sequence[float]) -> Dict[str, float]:
    """Median, quartiles (inclusive method), min and max of ``values``."""
    values = sorted(values)
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


def time_calls(fn: Callable[[], object], warmup: int, repeats: int,
               device: torch.device) -> List[float]:
    """Wall-clock seconds of ``repeats`` calls of ``fn`` after ``warmup``.

    Every call is timed on its own with :func:`time.perf_counter`; on CUDA
    the device is synchronised before starting and stopping the clock.
    """
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return times


def _proc_status_kb(field: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _release_memory() -> None:
    """Free Python garbage and give glibc's free heap pages back to the OS,
    so that a model reuses no resident memory freed by the previous one."""
    gc.collect()
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakMemory:
    """Peak memory rise while a block runs.

    CPU: rise of the process's resident set (Linux ``VmHWM`` after resetting
    it through ``/proc/self/clear_refs``, minus ``VmRSS`` at the start), so
    it sees every allocation (torch, oneDNN scratch pads, Python).
    CUDA: rise of ``torch.cuda.max_memory_allocated``. ``mb`` is ``None``
    where neither is available.
    """

    def __init__(self, device: torch.device):
        self.device = device
        self.mb: Optional[float] = None
        self._start = 0

    def __enter__(self) -> 'PeakMemory':
        _release_memory()
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = torch.cuda.memory_allocated(self.device)
        else:
            self._start = None
            try:
                with open('/proc/self/clear_refs', 'w') as f:
                    f.write('5')  # reset the peak resident set (Linux)
                self._start = _proc_status_kb('VmRSS')
            except OSError:
                pass
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
            self.mb = (peak - self._start) / 2**20
        elif self._start is not None:
            peak_kb = _proc_status_kb('VmHWM')
            if peak_kb is not None:
                self.mb = max(peak_kb - self._start, 0) / 1024


class OtherLoad:
    """CPU time used by *other* processes while a block runs, in cores.

    The load average counts this benchmark's own threads, so it cannot tell
    whether the machine was quiet; this can. Linux only (``/proc/stat``);
    ``cores`` is ``None`` elsewhere.
    """

    def __init__(self):
        self.cores: Optional[float] = None

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

    def __enter__(self) -> 'OtherLoad':
        self._busy, self._wall = self._busy_s(), time.perf_counter()
        times = os.times()
        self._own = times.user + times.system
        return self

    def __exit__(self, *exc) -> None:
        busy = self._busy_s()
        if busy is None or self._busy is None:
            return
        times = os.times()
        own = times.user + times.system - self._own
        wall = time.perf_counter() - self._wall
        self.cores = max(busy - self._busy - own, 0.) / max(wall, 1e-9)


def _tensor_bytes(model: nn.Module) -> int:
    return sum(t.numel() * t.element_size()
               for t in list(model.parameters()) + list(model.buffers()))


def measure_module(fn: Callable[[torch.Tensor], object],
                   make_inputs: Callable[[int], torch.Tensor], macs: int,
                   batch: int, warmup: int, repeats: int,
                   batch_repeats: int, device: torch.device) -> dict:
    """Latency at batch 1, throughput at ``batch`` and the peak memory rise
    of the batch-``batch`` forward passes.

    Args:
        fn: The forward to time, called as ``fn(inputs)``.
        make_inputs: ``make_inputs(n)`` returns a batch of ``n`` inputs.
        macs: MACs of one input (for the MAC rate).

    Returns:
        dict: ``latency`` and ``throughput`` summaries (ms, images/s),
        ``gmac_per_s`` at batch 1 and ``forward_peak_mb``.
    """
    with torch.no_grad():
        x1 = make_inputs(1)
        latency = [
            t * 1e3 for t in time_calls(lambda: fn(x1), warmup, repeats,
                                        device)
        ]
        del x1
        xn = make_inputs(batch)
        with PeakMemory(device) as peak:
            batch_times = time_calls(lambda: fn(xn), min(warmup, 1),
                                     batch_repeats, device)
        del xn
    lat = summarize(latency)
    thr = summarize([batch / t for t in batch_times])
    return dict(
        latency=lat,
        throughput=thr,
        gmac_per_s=macs / (lat['median'] / 1e3) / 1e9,
        forward_peak_mb=peak.mb)


def benchmark_config(config: str,
                     device: torch.device,
                     batch: int,
                     warmup: int,
                     repeats: int,
                     batch_repeats: int,
                     input_size: Optional[Tuple[int, int]] = None) -> dict:
    """Build one config's model as MMPose does for inference and measure it.

    Returns:
        dict: A result row (see :data:`CSV_COLUMNS`), plus ``input_shape``.
    """
    from mmpose.apis import init_model

    path = resolve_config_path(config)
    try:
        cfg = Config.fromfile(path)
    except Exception as e:  # syntax errors, missing _base_ files, ...
        raise BenchmarkError(f'{config}: cannot load config ({e})') from e
    width, height = input_size or input_size_of(cfg, config)
    model = init_model(cfg, checkpoint=None, device=str(device))
    model.eval()

    def make_inputs(n: int) -> torch.Tensor:
        return torch.randn(n, 3, height, width, device=device)

    params = count_params(model)
    with torch.no_grad():
        macs = count_macs(model, make_inputs(1))
    result = measure_module(model._forward, make_inputs, macs, batch, warmup,
                            repeats, batch_repeats, device)
    weights_mb = _tensor_bytes(model) / 2**20
    del model
    _release_memory()
    lat, thr = result['latency'], result['throughput']
    peak = result['forward_peak_mb']
    return dict(
        name=config_name(config),
        config=config,
        input_shape=[3, height, width],
        params=params,
        macs=macs,
        params_M=params / 1e6,
        gmacs=macs / 1e9,
        latency_ms=lat['median'],
        latency_ms_p25=lat['p25'],
        latency_ms_p75=lat['p75'],
        latency_ms_min=lat['min'],
        latency_ms_max=lat['max'],
        throughput=thr['median'],
        throughput_p25=thr['p25'],
        throughput_p75=thr['p75'],
        gmac_per_s=result['gmac_per_s'],
        peak_mem_mb=None if peak is None else weights_mb + peak,
        weights_mb=weights_mb,
        accuracy=None,
        accuracy_key=None)


def benchmark_reference_conv(device: torch.device, warmup: int,
                             repeats: int) -> dict:
    """MAC rate of one C×C 3×3 conv on a C×S×S map at batch 1, measured like
    the models (mmengine's MACs, the same timer), in the default (NCHW) and
    the channels-last memory format: one round, see
    :func:`combine_reference_conv`."""
    c, s = REF_CONV_CHANNELS, REF_CONV_SIZE
    conv = nn.Conv2d(c, c, 3, padding=1, bias=False).to(device).eval()
    x = torch.randn(1, c, s, s, device=device)
    with torch.no_grad():
        macs = count_macs(conv, x)
    result = dict(
        description=f'Conv2d({c}, {c}, 3, padding=1), batch 1, {c}x{s}x{s}',
        macs=macs)
    for layout, fmt in LAYOUTS:
        xf = x.contiguous(memory_format=fmt)
        with torch.no_grad():
            times = time_calls(lambda: conv(xf), warmup, repeats, device)
        lat = summarize([t * 1e3 for t in times])
        result[layout] = dict(
            latency_ms=lat['median'],
            latency_ms_p25=lat['p25'],
            latency_ms_p75=lat['p75'],
            gmac_per_s=macs / (lat['median'] / 1e3) / 1e9)
    return result


def combine_reference_conv(rounds: Sequence[dict]) -> dict:
    """The reference conv from rounds measured before and after the models:
    per layout the fastest round (other processes can only slow a round
    down), and as ``gmac_per_s`` the faster layout's rate."""
    result = dict(
        description=rounds[0]['description'],
        macs=rounds[0]['macs'],
        rounds=list(rounds))
    for layout, _ in LAYOUTS:
        result[layout] = max((r[layout] for r in rounds),
                             key=lambda m: m['gmac_per_s'])
    result['gmac_per_s'] = max(result[layout]['gmac_per_s']
                               for layout, _ in LAYOUTS)
    return result


# ---------------------------------------------------------------- accuracy


def parse_accuracy_args(items: Sequence[str],
                        configs: Sequence[str]) -> Dict[str, str]:
    """Map ``CONFIG=PATH`` items to the configs they name.

    ``CONFIG`` may be the config as given, or its name (file name with or
    without ``.py``).

    Raises:
        BenchmarkError: On a malformed item or a config not benchmarked.
    """
    mapping = {}
    for item in items:
        key, sep, path = item.partition('=')
        if not sep or not key or not path:
            raise BenchmarkError(
                f'--accuracy {item!r}: expected CONFIG=PATH')
        matches = [
            c for c in configs
            if key in (c, config_name(c), config_name(c) + '.py')
        ]
        if not matches:
            raise BenchmarkError(
                f'--accuracy {item!r}: {key!r} is none of the benchmarked '
                f'configs ({", ".join(config_name(c) for c in configs)})')
        for config in matches:
            mapping[config] = path
    return mapping


def _metric_dicts(path: str) -> List[dict]:
    """The metric dicts in a results file: one dict (json, yaml or pickle,
    as ``tools/test.py --out`` writes) or JSON lines (mmengine's log)."""
    import mmengine

    try:
        data = mmengine.load(path)
    except Exception:
        data = None
        if path.endswith(('.json', '.jsonl', '.log')):
            try:
                with open(path) as f:
                    data = [json.loads(line) for line in f if line.strip()]
            except (OSError, ValueError):
                data = None
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list) and all(isinstance(d, dict) for d in data):
        return data
    raise BenchmarkError(
        f'{path}: not a metrics file (expected a json/yaml/pickle dict of '
        'metrics or JSON lines of dicts)')


def read_accuracy(path: str, key: Optional[str] = None) -> Tuple[str, float]:
    """Read one metric from a test run's results.

    Args:
        path: Metrics file of ``tools/test.py --out`` or an mmengine json
            log; with several dicts the last one holding the key is used.
        key: Metric name, matched exactly or as the suffix after ``/``
            (``PCKh`` matches ``mpii/PCKh``). By default the first of
            :data:`ACCURACY_KEYS` found.

    Returns:
        tuple: The matched key and its value.

    Raises:
        BenchmarkError: If the file is missing, unreadable or lacks the key.
    """
    if not osp.isfile(path):
        raise BenchmarkError(f'{path}: accuracy file not found')
    dicts = _metric_dicts(path)
    wanted = [key] if key else list(ACCURACY_KEYS)
    for name in wanted:
        for d in reversed(dicts):
            for k, v in d.items():
                if (k == name or k.endswith('/' + name)) and isinstance(
                        v, (int, float)) and not isinstance(v, bool):
                    return k, float(v)
    available = sorted({k for d in dicts for k in d})
    raise BenchmarkError(
        f'{path}: no metric {" / ".join(wanted)} found (keys: '
        f'{", ".join(available) or "none"}); choose one with --accuracy-key')


# ----------------------------------------------------------------- targets


def check_targets(rows: Sequence[dict], ref_conv: dict,
                  target: str = DEFAULT_TARGET) -> Optional[dict]:
    """Speed targets of the model whose name contains ``target``.

    Returns:
        dict | None: Ratios, limits and verdicts; ``None`` if no row
        matches ``target``. A reference model missing from ``rows`` gives
        ``met=None``.
    """
    found = [r for r in rows if target in r['name']]
    if not found:
        return None
    row = found[0]
    checks = []
    for label, pattern, limit in LATENCY_TARGETS:
        refs = [r for r in rows if pattern in r['name'].lower()]
        ratio = row['latency_ms'] / refs[0]['latency_ms'] if refs else None
        checks.append(
            dict(
                what=f'latency b1 vs {label}',
                reference=refs[0]['name'] if refs else None,
                ratio=ratio,
                limit=limit,
                met=None if ratio is None else ratio <= limit))
    for layout, _ in LAYOUTS:
        rate = row['gmac_per_s'] / ref_conv[layout]['gmac_per_s']
        checks.append(
            dict(
                what=f'MAC rate vs single 3x3 conv ({layout})',
                reference=ref_conv['description'],
                ratio=rate,
                limit=MAC_RATE_TARGET,
                met=rate >= MAC_RATE_TARGET))
    return dict(model=row['name'], checks=checks)


# ------------------------------------------------------------------ output


def _fmt(value, spec: str = '.1f') -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '-'
    return format(value, spec)


def _verdict(met: Optional[bool]) -> str:
    return 'n/a' if met is None else ('met' if met else 'MISSED')


def format_markdown(result: dict) -> str:
    """Markdown report: environment, the table, the reference conv and the
    targets."""
    env, b = result['environment'], result['settings']['batch']
    lines = [
        f"Benchmark of {len(result['models'])} models, {env['date']}, "
        f"{env['device']} ({env['cpu']}), torch {env['torch']}, "
        f"{env['threads']} threads; load average "
        f"{env['loadavg_before'][0]:.2f} before, "
        f"{env['loadavg_after'][0]:.2f} after (this run included); other "
        f"processes used {_fmt(env['other_load_cores'], '.2f')} cores on "
        'average.',
        '',
        '| Model | Params (M) | GMACs | Latency b1 (ms), median [IQR] '
        f'| Throughput b{b} (img/s) | GMAC/s b1 | Peak mem b{b} (MB) '
        '| Accuracy | Other load (cores) |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ]
    for r in result['models']:
        acc = '-' if r['accuracy'] is None else \
            f"{r['accuracy']:.2f} ({r['accuracy_key']})"
        lines.append(
            f"| {r['name']} | {r['params_M']:.2f} | {r['gmacs']:.2f} | "
            f"{r['latency_ms']:.1f} [{r['latency_ms_p25']:.1f}, "
            f"{r['latency_ms_p75']:.1f}] | {r['throughput']:.2f} | "
            f"{r['gmac_per_s']:.1f} | {_fmt(r['peak_mem_mb'], '.0f')} | "
            f"{acc} | {_fmt(r['other_load'], '.2f')} |")
    ref = result['reference_conv']
    lines += [
        '',
        f"Reference {ref['description']}: {ref['macs'] / 1e6:.1f} MMACs, "
        f"NCHW {ref['nchw']['latency_ms']:.2f} ms = "
        f"{ref['nchw']['gmac_per_s']:.1f} GMAC/s, channels-last "
        f"{ref['channels_last']['latency_ms']:.2f} ms = "
        f"{ref['channels_last']['gmac_per_s']:.1f} GMAC/s (the faster of "
        'the rounds before and after the models, per layout).',
    ]
    targets = result.get('targets')
    if targets:
        lines += ['', f"Targets of {targets['model']}:", '']
        for c in targets['checks']:
            cmp = '>=' if c['what'].startswith('MAC rate') else '<='
            lines.append(f"- {c['what']} ({c['reference'] or 'not run'}): "
                         f"{_fmt(c['ratio'], '.3f')} {cmp} {c['limit']:.2f}"
                         f" -> {_verdict(c['met'])}")
    lines += [
        '',
        'Latency: wall clock of `model._forward` (backbone, neck, head) '
        'under `torch.no_grad()` in eval mode on a normalised random batch; '
        'no data loading, preprocessing, flip test or decoding. MACs: '
        "mmengine's analysis (convs/linear/matmul). GMAC/s = MACs / median "
        'latency at batch 1. Peak mem: weights + the rise of the peak '
        f'resident set (CPU) or allocated memory (CUDA) during batch-{b} '
        'passes. Other load: CPU time of other processes during the '
        "model's measurement, in cores.",
        '',
        f"Command: `{result['command']}`",
    ]
    return '\n'.join(lines) + '\n'


def format_csv(rows: Sequence[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(
        buf,
        fieldnames=CSV_COLUMNS,
        extrasaction='ignore',
        lineterminator='\n')
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ('' if r.get(k) is None else r[k])
                         for k in CSV_COLUMNS})
    return buf.getvalue()


def render_plot(result: dict) -> bytes:
    """PNG with latency (batch 1) and accuracy against GMACs."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    rows = result['models']
    colors = {
        r['name']: f'C{i % 10}'
        for i, r in enumerate(rows)
    }  # the same colour for a model in both panels
    fig, (ax_lat, ax_acc) = plt.subplots(1, 2, figsize=(13, 5))
    for r in rows:
        ax_lat.errorbar(
            r['gmacs'],
            r['latency_ms'],
            yerr=[[r['latency_ms'] - r['latency_ms_p25']],
                  [r['latency_ms_p75'] - r['latency_ms']]],
            fmt='o',
            color=colors[r['name']],
            capsize=3)
        ax_lat.annotate(
            r['name'], (r['gmacs'], r['latency_ms']),
            fontsize=7,
            xytext=(4, 4),
            textcoords='offset points')
    ax_lat.set_xlabel('GMACs per image')
    ax_lat.set_ylabel('latency at batch 1 (ms, median and IQR)')
    ax_lat.set_title(f"{result['environment']['device']}, "
                     f"{result['environment']['threads']} threads")
    ax_lat.grid(alpha=0.3)
    with_acc = [r for r in rows if r['accuracy'] is not None]
    for r in with_acc:
        ax_acc.plot(r['gmacs'], r['accuracy'], 'o', color=colors[r['name']])
        ax_acc.annotate(
            r['name'], (r['gmacs'], r['accuracy']),
            fontsize=7,
            xytext=(4, 4),
            textcoords='offset points')
    if with_acc:
        keys = sorted({r['accuracy_key'] for r in with_acc})
        ax_acc.set_ylabel(f'accuracy ({", ".join(keys)})')
    else:
        ax_acc.text(
            0.5,
            0.5,
            'no accuracy given (--accuracy CONFIG=PATH)',
            ha='center',
            va='center',
            transform=ax_acc.transAxes)
    ax_acc.set_xlabel('GMACs per image')
    ax_acc.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=120)
    plt.close(fig)
    return buf.getvalue()


def write_outputs(result: dict, out_dir: str) -> Dict[str, str]:
    """Write ``benchmark.{md,csv,json,png}`` to ``out_dir``.

    Everything is rendered first and every file is written to a temporary
    name and renamed, so no half-written file is left behind.
    """
    contents = {
        'benchmark.md': format_markdown(result).encode(),
        'benchmark.csv': format_csv(result['models']).encode(),
        'benchmark.json': (json.dumps(result, indent=2) + '\n').encode(),
        'benchmark.png': render_plot(result),
    }
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    for name, data in contents.items():
        fd, tmp = tempfile.mkstemp(prefix=f'.{name}.', dir=out_dir)
        try:
            with os.fdopen(fd, 'wb') as f:
                f.write(data)
            os.chmod(tmp, 0o644)  # mkstemp's 0600 is for secrets
            os.replace(tmp, osp.join(out_dir, name))
        except BaseException:
            if osp.exists(tmp):
                os.remove(tmp)
            raise
        paths[name] = osp.join(out_dir, name)
    return paths


# -------------------------------------------------------------------- main


def _cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_benchmark(configs: Sequence[str],
                  device: str = 'cpu',
                  batch: int = 8,
                  warmup: int = 2,
                  repeats: int = 10,
                  batch_repeats: int = 3,
                  threads: Optional[int] = None,
                  accuracy: Sequence[str] = (),
                  accuracy_key: Optional[str] = None,
                  input_size: Optional[Tuple[int, int]] = None,
                  target: str = DEFAULT_TARGET,
                  command: str = '',
                  log: Callable[[str], None] = print) -> dict:
    """Benchmark ``configs`` side by side in this process.

    Every input (configs, accuracy files, options) is checked before the
    first model is measured.

    Returns:
        dict: ``environment``, ``settings``, ``models`` (rows),
        ``reference_conv`` and ``targets``.
    """
    if not configs:
        raise BenchmarkError('no config given')
    if batch < 1 or repeats < 1 or batch_repeats < 1 or warmup < 0:
        raise BenchmarkError('--batch, --repeats and --batch-repeats must be '
                             '>= 1 and --warmup >= 0')
    dev = torch.device(device)
    if dev.type == 'cuda' and not torch.cuda.is_available():
        raise BenchmarkError('--device cuda: CUDA is not available')
    for config in configs:
        resolve_config_path(config)
    acc_files = parse_accuracy_args(accuracy, configs)
    accuracies = {
        c: read_accuracy(p, accuracy_key)
        for c, p in acc_files.items()
    }

    threads = threads or len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    load_before = os.getloadavg()
    env = dict(
        date=datetime.datetime.now().isoformat(timespec='seconds'),
        device=(torch.cuda.get_device_name(dev)
                if dev.type == 'cuda' else 'cpu'),
        cpu=_cpu_name(),
        logical_cpus=os.cpu_count(),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        python=platform.python_version(),
        loadavg_before=list(load_before))
    log(f"benchmark: {len(configs)} configs on {env['device']}, "
        f"torch.set_num_threads({threads}), batch 1 x {repeats} repeats "
        f'(+{warmup} warm-up), batch {batch} x {batch_repeats}; '
        f'load average {load_before[0]:.2f}')

    ref_rounds, rows = [], []

    def measure_ref(when: str) -> None:
        ref = benchmark_reference_conv(dev, max(warmup, 3), repeats * 3)
        ref_rounds.append(dict(ref, when=when))
        log(f"[ref, {when}] {ref['description']}: "
            f"{ref['macs'] / 1e6:.1f} MMACs, NCHW "
            f"{ref['nchw']['latency_ms']:.2f} ms = "
            f"{ref['nchw']['gmac_per_s']:.1f} GMAC/s, channels-last "
            f"{ref['channels_last']['latency_ms']:.2f} ms = "
            f"{ref['channels_last']['gmac_per_s']:.1f} GMAC/s")

    with OtherLoad() as run_load:
        measure_ref('before')
        for i, config in enumerate(configs, 1):
            with OtherLoad() as other:
                row = benchmark_config(config, dev, batch, warmup, repeats,
                                       batch_repeats, input_size)
            row['other_load'] = other.cores
            if config in accuracies:
                row['accuracy_key'], row['accuracy'] = accuracies[config]
            rows.append(row)
            log(f"[{i}/{len(configs)}] {row['name']}: "
                f"{row['params_M']:.2f} M params, {row['gmacs']:.2f} GMACs, "
                f"b1 {row['latency_ms']:.1f} ms [IQR "
                f"{row['latency_ms_p25']:.1f}-{row['latency_ms_p75']:.1f}], "
                f"{row['gmac_per_s']:.1f} GMAC/s, b{batch} "
                f"{row['throughput']:.2f} img/s, peak mem "
                f"{_fmt(row['peak_mem_mb'], '.0f')} MB; other processes "
                f"{_fmt(row['other_load'], '.2f')} cores, load average "
                f'{os.getloadavg()[0]:.2f}')
        measure_ref('after')
    ref_conv = combine_reference_conv(ref_rounds)
    env['loadavg_after'] = list(os.getloadavg())
    env['other_load_cores'] = run_load.cores
    nchw, cl = (ref_conv[k]['gmac_per_s'] for k in ('nchw', 'channels_last'))
    log(f'MAC rate, % of the single conv (fastest round; NCHW {nchw:.1f}, '
        f'channels-last {cl:.1f} GMAC/s): ' +
        ', '.join(f"{r['name']} {r['gmac_per_s']:.1f} GMAC/s = "
                  f"{r['gmac_per_s'] / nchw:.0%} / {r['gmac_per_s'] / cl:.0%}"
                  for r in rows))
    result = dict(
        environment=env,
        settings=dict(
            batch=batch,
            warmup=warmup,
            repeats=repeats,
            batch_repeats=batch_repeats,
            input_size=list(input_size) if input_size else None,
            forward='model._forward under torch.no_grad(), eval mode',
            macs='mmengine.analysis.get_model_complexity_info (1 MAC = '
            '1 flop), batch 1',
            peak_mem='weights + rise of peak RSS (CPU, VmHWM) or of '
            f'torch.cuda.max_memory_allocated (CUDA) during batch-{batch} '
            'passes'),
        command=command,
        models=rows,
        reference_conv=ref_conv,
        targets=check_targets(rows, ref_conv, target))
    targets = result['targets']
    if targets:
        for c in targets['checks']:
            cmp = '>=' if c['what'].startswith('MAC rate') else '<='
            log(f"target {targets['model']}: {c['what']} "
                f"({c['reference'] or 'not run'}): "
                f"{_fmt(c['ratio'], '.3f')} {cmp} {c['limit']:.2f} -> "
                f"{_verdict(c['met'])}")
    log(f"load average after: {env['loadavg_after'][0]:.2f} (includes this "
        f"run's {threads} threads); other processes used "
        f"{_fmt(env['other_load_cores'], '.2f')} cores on average")
    return result
