# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Measure configs side by side under one or more backends, interleaved.

Every network is built (and, for the runtimes, exported once and loaded)
first; then the timing runs in rounds, each round timing every (model,
backend) pair in turn at batch 1 and at batch N, so that a change of the
machine's load during the run touches every model alike rather than the
ones measured at that moment.
"""
import datetime
import os
import os.path as osp
import platform
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from softgate_mmpose.deployment import (ExportError, build_model, export_onnx,
                                        flat_outputs, input_shape_of,
                                        relative_difference, runtime_version)
from softgate_mmpose.utils.machine import (combine_rounds, cpu_name,
                                           reference_conv_gmacs)
from .accuracy import collect_accuracies
from .backends import BACKENDS, check_backends, make_runner
from .configs import BenchmarkError, config_name, find_config, load_config
from .measure import (OtherLoad, PeakMemory, count_macs, count_params,
                      make_timer, release_memory, summarize, tensor_mb,
                      time_block)
from .result import BenchmarkResult, Ratio, Row, fastest_rows, ratios_of

Log = Callable[[str], None]


@dataclass
class Options:
    """What and how to measure (the command line's options).

    Attributes:
        backends: ``pytorch``, ``onnxruntime`` and/or ``openvino``.
        device: ``cpu`` or ``cuda``.
        batch: People per call of the second timing (batch 1 is always
            timed); above 1 the runtimes get a dynamic-batch export.
        threads: Torch threads and the runtimes' threads per call.
        rounds: Interleaved timing rounds.
        min_run_time: Seconds of timed calls per pair, batch and round.
        warmup: Untimed calls per pair before the rounds.
        accuracy: ``CONFIG=PATH`` metrics files of test runs.
        accuracy_key: Metric to read from them.
        input_size: ``(W, H)`` for every config instead of its codec's.
        subject: Config (or name) whose latency ratios to the others are
            reported; default: the first config.
        num_stacks: Stack counts K to benchmark the subject at, each as a
            model of its own (stacks 1..K, stack K's heatmaps).
        cfg_options: Overrides merged into every config.
        onnx_dir: Keep the exported ``.onnx`` files there.
        reference_conv: Measure the single-conv reference before and after.
        command: The command line, for the report.
    """
    backends: Sequence[str] = ('pytorch', )
    device: str = 'cpu'
    batch: int = 1
    threads: int = 2
    rounds: int = 5
    min_run_time: float = 1.0
    warmup: int = 1
    accuracy: Sequence[str] = ()
    accuracy_key: Optional[str] = None
    input_size: Optional[Tuple[int, int]] = None
    subject: Optional[str] = None
    num_stacks: Sequence[int] = ()
    cfg_options: Optional[dict] = None
    onnx_dir: Optional[str] = None
    reference_conv: bool = True
    command: str = ''

    @property
    def runtimes(self) -> List[str]:
        return [b for b in self.backends if b != 'pytorch']


@dataclass
class Model:
    """A network to benchmark (one config, possibly cut to K stacks)."""
    name: str
    config: str
    num_stacks: Optional[int]
    network: nn.Module
    input_shape: Tuple[int, int, int]
    params: int
    macs: int
    weights_mb: float


@dataclass
class Pair:
    """One model under one backend, and what was measured of it."""
    model: Model
    backend: str
    runner: Callable
    inputs: object
    batch_inputs: object
    peak_rise_mb: Optional[float]
    max_rel_diff: Optional[float]
    samples: List[float] = field(default_factory=list)
    batch_samples: List[float] = field(default_factory=list)
    load: OtherLoad = field(default_factory=OtherLoad)


def check_options(configs: Sequence[str], options: Options) -> torch.device:
    """The device, after checking every option (before anything runs)."""
    if not configs:
        raise BenchmarkError('no config given')
    o = options
    if o.batch < 1 or o.threads < 1 or o.rounds < 1 or o.warmup < 0 or \
            o.min_run_time < 0:
        raise BenchmarkError('--batch-size, --threads and --rounds must be '
                             '>= 1, --warmup and --min-run-time >= 0')
    if any(k < 1 for k in o.num_stacks):
        raise BenchmarkError(f'--num-stacks must be >= 1, got '
                             f'{list(o.num_stacks)}')
    try:
        dev = torch.device(o.device)
    except RuntimeError as e:
        raise BenchmarkError(f'--device {o.device!r}: {e}') from e
    if dev.type == 'cuda' and not torch.cuda.is_available():
        raise BenchmarkError('--device cuda: CUDA is not available')
    check_backends(o.backends, dev)
    if o.onnx_dir is not None and o.runtimes:
        os.makedirs(o.onnx_dir, exist_ok=True)
        if not os.access(o.onnx_dir, os.W_OK):
            raise BenchmarkError(f'--onnx-dir {o.onnx_dir}: not writable')
    return dev


def environment(dev: torch.device, options: Options) -> dict:
    """The machine and the versions of the run."""
    env = dict(
        date=datetime.datetime.now().isoformat(timespec='seconds'),
        device=(torch.cuda.get_device_name(dev)
                if dev.type == 'cuda' else 'cpu'),
        cpu=cpu_name(),
        logical_cpus=os.cpu_count(),
        threads=options.threads,
        torch=torch.__version__,
        python=platform.python_version(),
        loadavg_before=list(os.getloadavg()))
    for runtime in options.runtimes:
        env[runtime] = runtime_version(runtime)
    return env


def run_benchmark(configs: Sequence[str],
                  options: Optional[Options] = None,
                  log: Log = print) -> BenchmarkResult:
    """Benchmark ``configs`` under ``options.backends`` side by side in
    this process.

    Every input (configs, backends, accuracy files, options) is checked
    before the first model is built.

    Args:
        configs: Config paths or ``package::path`` (``mmpose::...``).
        options: What and how to measure.
        log: Progress printer.

    Returns:
        BenchmarkResult: A :class:`Row` per model and backend, the fastest
        runtime of each model, the subject's latency ratios, the reference
        conv, the environment and the settings.
    """
    options = options or Options()
    dev = check_options(configs, options)
    configs = list(dict.fromkeys(configs))  # unique, in order
    cfgs = {c: load_config(c, options.cfg_options) for c in configs}
    accuracies = collect_accuracies(configs, options.accuracy,
                                    options.accuracy_key)
    subject = configs[0] if options.subject is None else find_config(
        options.subject, configs)
    if subject is None:
        raise BenchmarkError(
            f'--subject {options.subject!r} is none of the benchmarked '
            'configs')
    env = environment(dev, options)
    log(start_line(len(configs), env, options))
    ref_rounds = _reference(options, dev, log)
    with tempfile.TemporaryDirectory(prefix='benchmark-onnx-') as tmp:
        models = _build_models(configs, cfgs, subject, options, dev)
        pairs = _prepare(models, options, dev, options.onnx_dir or tmp, log)
        with OtherLoad() as run_load:
            _time_rounds(pairs, options, log)
        rows = [_row(p, options.batch, accuracies) for p in pairs]
        del pairs, models
        release_memory()
    if options.reference_conv:
        ref_rounds.append(
            reference_conv_gmacs(options.threads, device=str(dev)))
    env['loadavg_after'] = list(os.getloadavg())
    env['other_load_cores'] = run_load.cores
    subjects = [r.name for r in rows if r.config == subject]
    result = BenchmarkResult(
        environment=env,
        settings=settings_of(options, subject),
        command=options.command,
        models=rows,
        fastest=fastest_rows(rows, options.batch),
        ratios=ratios_of(rows, list(dict.fromkeys(subjects)), options.batch),
        reference_conv=combine_rounds(ref_rounds) if ref_rounds else None)
    _log_summary(result, log)
    return result


def start_line(num_configs: int, env: dict, options: Options) -> str:
    batches = 'batch 1' + (f' and {options.batch}'
                           if options.batch > 1 else '')
    return (f'benchmark: {num_configs} configs x '
            f"{', '.join(BACKENDS[b] for b in options.backends)} on "
            f"{env['device']}, {options.threads} threads, {batches} in "
            f'{options.rounds} interleaved rounds of >= '
            f'{options.min_run_time:g} s per model; load average '
            f"{env['loadavg_before'][0]:.2f}")


def _reference(options: Options, dev: torch.device, log: Log) -> List[dict]:
    if not options.reference_conv:
        return []
    ref = reference_conv_gmacs(options.threads, device=str(dev))
    log(f"reference {ref['description']}: {ref['gmac_per_s']:.1f} GMAC/s "
        f"(NCHW {ref['nchw']['gmac_per_s']:.1f}, channels-last "
        f"{ref['channels_last']['gmac_per_s']:.1f})")
    return [ref]


def settings_of(options: Options, subject: str) -> dict:
    return dict(
        backends=list(options.backends),
        batch=options.batch,
        threads=options.threads,
        rounds=options.rounds,
        min_run_time=options.min_run_time,
        warmup=options.warmup,
        input_size=list(options.input_size) if options.input_size else None,
        subject=subject,
        num_stacks=list(options.num_stacks),
        network='softgate_mmpose.deployment.build_model(): backbone + head '
        "to the last (or K-th) stack's heatmaps (SimCC: both vectors), the "
        'deploy transform applied, eval mode, torch.no_grad()',
        macs='mmengine.analysis.FlopAnalyzer (1 MAC = 1 flop), batch 1, '
        'before the deploy transform',
        peak_mem='weights + rise of the peak resident set (CPU, VmHWM) or '
        'of torch.cuda.max_memory_allocated (CUDA) during the first '
        f'batch-{options.batch} pass of each backend')


# ------------------------------------------------------------ building


def _variants(config: str, subject: str,
              options: Options) -> List[Optional[int]]:
    """Stack counts to build ``config`` with (``None``: as configured)."""
    if config == subject and options.num_stacks:
        return list(dict.fromkeys(options.num_stacks))
    return [None]


def _build_models(configs: Sequence[str], cfgs: Dict, subject: str,
                  options: Options, dev: torch.device) -> List[Model]:
    return [
        _build_model(config, cfgs[config], k, options, dev)
        for config in configs for k in _variants(config, subject, options)
    ]


def _build_model(config: str, cfg, num_stacks: Optional[int], options: Options,
                 dev: torch.device) -> Model:
    """Build, count (before the deploy transform, which may fold
    parameters) and deploy one network."""
    from softgate_mmpose.models import switch_to_deploy
    try:
        network = build_model(
            cfg, device=str(dev), num_stacks=num_stacks, deploy=False)
    except ExportError as e:
        raise BenchmarkError(f'{config}: {e}') from e
    if options.input_size:
        width, height = options.input_size
        shape = (3, height, width)
    else:
        shape = tuple(input_shape_of(cfg)[1:])
    name = config_name(config)
    if num_stacks is not None:
        name += f" [{num_stacks} stack{'s' if num_stacks > 1 else ''}]"
    params = count_params(network)
    macs = count_macs(network, torch.randn(1, *shape, device=dev))
    switch_to_deploy(network.pose_model)
    return Model(
        name=name,
        config=config,
        num_stacks=num_stacks,
        network=network,
        input_shape=shape,
        params=params,
        macs=macs,
        weights_mb=tensor_mb(network))


def _export(model: Model, options: Options, onnx_dir: str) -> str:
    safe = model.name.replace(' ', '_').replace('[', '').replace(']', '')
    onnx_file = osp.join(onnx_dir, f'{safe}.onnx')
    try:
        export_onnx(
            model.network,
            onnx_file,
            shape=(1, *model.input_shape),
            dynamic_batch=options.batch > 1)
    except Exception as e:  # the exporter's errors, torch.onnx's
        raise BenchmarkError(f'{model.config}: ONNX export failed: '
                             f'{type(e).__name__}: {e}') from e
    return onnx_file


def _prepare(models: Sequence[Model], options: Options, dev: torch.device,
             onnx_dir: str, log: Log) -> List[Pair]:
    """Every (model, backend) pair: runner, inputs, memory, parity."""
    pairs = []
    for i, model in enumerate(models, 1):
        onnx_file = _export(model, options, onnx_dir) \
            if options.runtimes else None
        model_pairs = [
            _prepare_pair(model, backend, options, dev, onnx_file)
            for backend in options.backends
        ]
        pairs += model_pairs
        shape = model.input_shape
        log(f'[{i}/{len(models)}] {model.name}: '
            f'{model.params / 1e6:.2f} M params, {model.macs / 1e9:.2f} '
            f'GMACs, input {shape[2]}x{shape[1]}' +
            ''.join(f'; {BACKENDS[p.backend]} max |diff| / peak '
                    f'{p.max_rel_diff:.2g}'
                    for p in model_pairs if p.max_rel_diff is not None))
    return pairs


def _prepare_pair(model: Model, backend: str, options: Options,
                  dev: torch.device, onnx_file: Optional[str]) -> Pair:
    runner = make_runner(backend, model.network, dev, options.threads,
                         onnx_file)
    batch_inputs = runner.make_inputs(options.batch, model.input_shape)
    # Memory of the first batch-N pass: one-time allocations (a runtime's
    # arena, oneDNN's buffers) stay with the process and count, and later
    # passes reuse them.
    with PeakMemory(dev) as peak, torch.no_grad():
        runner(batch_inputs)
    inputs = runner.make_inputs(1, model.input_shape)
    max_rel_diff = None
    if backend != 'pytorch':
        # The same inputs through PyTorch: a wrong graph is not timed
        # unnoticed (batch N checks the dynamic batch dimension too).
        max_rel_diff = max(
            _parity(runner, model.network, x, dev)
            for x in (inputs, batch_inputs))
    with torch.no_grad():
        for _ in range(options.warmup):
            runner(inputs)
    return Pair(
        model=model,
        backend=backend,
        runner=runner,
        inputs=inputs,
        batch_inputs=batch_inputs,
        peak_rise_mb=peak.mb,
        max_rel_diff=max_rel_diff)


def _parity(runner, network: nn.Module, inputs, dev: torch.device) -> float:
    with torch.no_grad():
        expected = flat_outputs(network(torch.from_numpy(inputs).to(dev)))
    return relative_difference(
        runner(inputs), [t.float().cpu().numpy() for t in expected])


# -------------------------------------------------------------- timing


def _time_rounds(pairs: Sequence[Pair], options: Options, log: Log) -> None:
    """``options.rounds`` rounds, each timing every pair at batch 1 (and
    batch N) in turn."""
    for r in range(options.rounds):
        start = time.perf_counter()
        for pair in pairs:
            with pair.load:
                pair.samples += _time(pair.runner, pair.inputs, options)
                if options.batch > 1:
                    pair.batch_samples += _time(pair.runner, pair.batch_inputs,
                                                options)
        log(f'round {r + 1}/{options.rounds}: {len(pairs)} pairs in '
            f'{time.perf_counter() - start:.0f} s')


def _time(runner, inputs, options: Options) -> List[float]:
    timer = make_timer(runner, inputs, options.threads)
    return time_block(timer, options.min_run_time)


def _row(pair: Pair, batch: int, accuracies: Dict[str, dict]) -> Row:
    model = pair.model
    lat = summarize([t * 1e3 for t in pair.samples])
    if pair.batch_samples:
        per_image = summarize([t * 1e3 / batch for t in pair.batch_samples])
    else:  # batch 1: the latency measurement is the batch measurement
        per_image = lat
    acc = accuracies.get(model.config) or {}
    rise = pair.peak_rise_mb
    return Row(
        name=model.name,
        config=model.config,
        num_stacks=model.num_stacks,
        backend=pair.backend,
        input_shape=list(model.input_shape),
        params=model.params,
        macs=model.macs,
        latency_ms=lat['median'],
        latency_ms_p25=lat['p25'],
        latency_ms_p75=lat['p75'],
        latency_ms_min=lat['min'],
        latency_ms_max=lat['max'],
        latency_samples=lat['n'],
        batch=batch,
        batch_ms_per_image=per_image['median'],
        batch_ms_per_image_p25=per_image['p25'],
        batch_ms_per_image_p75=per_image['p75'],
        peak_mem_mb=None if rise is None else model.weights_mb + rise,
        weights_mb=model.weights_mb,
        max_rel_diff=pair.max_rel_diff,
        accuracy=acc.get('value'),
        accuracy_key=acc.get('key'),
        accuracy_source=acc.get('source'),
        other_load=pair.load.cores)


# ------------------------------------------------------------- summary


def _fmt(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:.2f}'


def _log_summary(result: BenchmarkResult, log: Log) -> None:
    ref = result.reference_conv
    for row in result.models:
        share = (f" = {row.gmac_per_s / ref['gmac_per_s']:.0%} of the "
                 'reference conv' if ref else '')
        batch = (f', b{row.batch} {row.batch_ms_per_image:.1f} ms/img '
                 f'({row.throughput:.2f} img/s)' if row.batch > 1 else '')
        log(f'{row.name} [{BACKENDS[row.backend]}]: b1 '
            f'{row.latency_ms:.1f} ms [IQR {row.latency_ms_p25:.1f}-'
            f'{row.latency_ms_p75:.1f}], {row.gmac_per_s:.1f} GMAC/s'
            f'{share}{batch}, other processes {_fmt(row.other_load)} cores')
    for f in result.fastest:
        log(f'fastest at batch {f.batch}: {f.name} in '
            f'{BACKENDS[f.backend]}, {f.ms_per_image:.1f} ms/img')
    # the per-backend ratios are in the table; the progress log names the
    # ratios of the models at their fastest backends
    for r in result.ratios:
        if r.kind != 'fastest':
            continue
        log(f'latency of {r.subject} [{BACKENDS[r.subject_backend]}] over '
            f'{r.other} [{BACKENDS[r.other_backend]}] at batch {r.batch}: '
            f'{r.ratio:.3f}x (fastest backends)')
    env = result.environment
    log(f"load average after: {env['loadavg_after'][0]:.2f} (includes this "
        "run's threads); other processes used "
        f"{_fmt(env['other_load_cores'])} cores on average")


__all__ = ['Options', 'Ratio', 'Row', 'run_benchmark']
