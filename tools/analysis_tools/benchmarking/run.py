# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Measure configs side by side under one or more backends, interleaved.

Every network is built (and, for ONNX Runtime, exported) first; then the
timing runs in rounds, each round timing every (config, backend) pair in
turn, so that a change of the machine's load during the run touches every
model alike rather than the ones measured at that moment.
"""
import datetime
import os
import os.path as osp
import platform
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from .accuracy import collect_accuracies
from .backends import (BACKENDS, check_backends, deployment_tool,
                       flat_outputs, make_runner, relative_difference)
from .configs import BenchmarkError, config_name, find_config, load_config
from .measure import (OtherLoad, PeakMemory, count_macs, count_params,
                      make_timer, release_memory, summarize, tensor_mb,
                      time_block)
from .reference_conv import combine_rounds, reference_conv_gmacs

#: The per-(config, backend) fields of a result row, in CSV order.
ROW_FIELDS = ('name', 'config', 'backend', 'input_shape', 'params', 'macs',
              'params_M', 'gmacs', 'latency_ms', 'latency_ms_p25',
              'latency_ms_p75', 'latency_ms_min', 'latency_ms_max',
              'latency_samples', 'throughput', 'batch', 'gmac_per_s',
              'peak_mem_mb', 'weights_mb', 'onnx_max_rel_diff', 'accuracy',
              'accuracy_key', 'accuracy_source', 'other_load')


def _cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _check_options(configs: Sequence[str], backends: Sequence[str],
                   device: str, batch: int, threads: int, rounds: int,
                   min_run_time: float, warmup: int) -> torch.device:
    if not configs:
        raise BenchmarkError('no config given')
    if batch < 1 or threads < 1 or rounds < 1 or warmup < 0 or \
            min_run_time < 0:
        raise BenchmarkError('--batch, --threads and --rounds must be >= 1, '
                             '--warmup and --min-run-time >= 0')
    try:
        dev = torch.device(device)
    except RuntimeError as e:
        raise BenchmarkError(f'--device {device!r}: {e}') from e
    if dev.type == 'cuda' and not torch.cuda.is_available():
        raise BenchmarkError('--device cuda: CUDA is not available')
    check_backends(backends, dev)
    return dev


def latency_ratios(rows: Sequence[dict], subject: str) -> List[dict]:
    """Latency of ``subject`` (a config) over every other model's, per
    backend: ``ratio`` < 1 means the subject is faster."""
    by_key = {(r['config'], r['backend']): r for r in rows}
    ratios = []
    for r in rows:
        if r['config'] == subject:
            continue
        mine = by_key.get((subject, r['backend']))
        if mine is None:
            continue
        ratios.append(
            dict(
                subject=mine['name'],
                other=r['name'],
                backend=r['backend'],
                ratio=mine['latency_ms'] / r['latency_ms']))
    return ratios


def run_benchmark(configs: Sequence[str],
                  backends: Sequence[str] = ('pytorch', ),
                  device: str = 'cpu',
                  batch: int = 1,
                  threads: int = 2,
                  rounds: int = 5,
                  min_run_time: float = 1.0,
                  warmup: int = 1,
                  accuracy: Sequence[str] = (),
                  accuracy_key: Optional[str] = None,
                  input_size: Optional[Tuple[int, int]] = None,
                  subject: Optional[str] = None,
                  cfg_options: Optional[dict] = None,
                  onnx_dir: Optional[str] = None,
                  reference_conv: bool = True,
                  command: str = '',
                  log: Callable[[str], None] = print) -> dict:
    """Benchmark ``configs`` under ``backends`` side by side in this process.

    Every input (configs, backends, accuracy files, options) is checked
    before the first model is built.

    Args:
        configs: Config paths or ``package::path`` (``mmpose::...``).
        backends: ``pytorch`` and/or ``onnxruntime``.
        device: ``cpu`` or ``cuda``.
        batch: Batch size of the throughput and peak-memory passes
            (latency is always at batch 1).
        threads: Torch threads (for the measurements) and ONNX Runtime
            intra-op threads.
        rounds: Interleaved timing rounds.
        min_run_time: Seconds of timed calls per (config, backend) and
            round (at least one call).
        warmup: Untimed calls per (config, backend) before the rounds.
        accuracy: ``CONFIG=PATH`` metrics files of test runs.
        accuracy_key: Metric to read from them.
        input_size: ``(W, H)`` for every config instead of its codec's.
        subject: Config (or name) whose latency ratios to the others are
            reported; default: the first config.
        cfg_options: Overrides merged into every config.
        onnx_dir: Keep the exported ``.onnx`` files there (default: a
            temporary folder, removed afterwards).
        reference_conv: Measure the single-conv reference before and after.
        command: The command line, for the report.
        log: Progress printer.

    Returns:
        dict: ``environment``, ``settings``, ``models`` (one row per config
        and backend, fields :data:`ROW_FIELDS`), ``ratios``,
        ``reference_conv`` and ``command``.
    """
    dev = _check_options(configs, backends, device, batch, threads, rounds,
                         min_run_time, warmup)
    unique: List[str] = []
    for config in configs:
        if config not in unique:
            unique.append(config)
    configs = unique
    cfgs = {c: load_config(c, cfg_options) for c in configs}
    accuracies = collect_accuracies(configs, accuracy, accuracy_key)
    subject_config = configs[0] if subject is None else find_config(
        subject, configs)
    if subject_config is None:
        raise BenchmarkError(
            f'--subject {subject!r} is none of the benchmarked configs')
    if onnx_dir is not None and 'onnxruntime' in backends:
        os.makedirs(onnx_dir, exist_ok=True)
        if not os.access(onnx_dir, os.W_OK):
            raise BenchmarkError(f'--onnx-dir {onnx_dir}: not writable')
    tool = deployment_tool()

    env = dict(
        date=datetime.datetime.now().isoformat(timespec='seconds'),
        device=(torch.cuda.get_device_name(dev)
                if dev.type == 'cuda' else 'cpu'),
        cpu=_cpu_name(),
        logical_cpus=os.cpu_count(),
        threads=threads,
        torch=torch.__version__,
        python=platform.python_version(),
        loadavg_before=list(os.getloadavg()))
    if 'onnxruntime' in backends:
        import onnxruntime
        env['onnxruntime'] = onnxruntime.__version__
    log(f"benchmark: {len(configs)} configs x "
        f"{', '.join(BACKENDS[b] for b in backends)} on {env['device']}, "
        f'{threads} threads, latency at batch 1 in {rounds} interleaved '
        f'rounds of >= {min_run_time:g} s per model, batch {batch} for '
        f"throughput and memory; load average {env['loadavg_before'][0]:.2f}")

    ref_rounds = []
    if reference_conv:
        ref_rounds.append(reference_conv_gmacs(threads, device=str(dev)))
        ref = ref_rounds[-1]
        log(f"reference {ref['description']}: {ref['gmac_per_s']:.1f} GMAC/s "
            f"(NCHW {ref['nchw']['gmac_per_s']:.1f}, channels-last "
            f"{ref['channels_last']['gmac_per_s']:.1f})")

    with tempfile.TemporaryDirectory(prefix='benchmark-onnx-') as tmp:
        models, pairs = _prepare(configs, cfgs, backends, dev, batch, threads,
                                 warmup, input_size, cfg_options,
                                 onnx_dir or tmp, tool, log)
        with OtherLoad() as run_load:
            for r in range(rounds):
                start = time.perf_counter()
                for pair in pairs:
                    with pair['load']:
                        pair['samples'] += time_block(pair['timer'],
                                                      min_run_time)
                log(f'round {r + 1}/{rounds}: {len(pairs)} timings in '
                    f'{time.perf_counter() - start:.0f} s')
            if batch > 1:
                for pair in pairs:
                    _throughput(pair, batch, threads, min_run_time)
        del models
        release_memory()

    if reference_conv:
        ref_rounds.append(reference_conv_gmacs(threads, device=str(dev)))
    ref_conv = combine_rounds(ref_rounds) if ref_rounds else None
    env['loadavg_after'] = list(os.getloadavg())
    env['other_load_cores'] = run_load.cores

    rows = [_row(p, accuracies) for p in pairs]
    ratios = latency_ratios(rows, subject_config)
    for row in rows:
        log(f"{row['name']} [{BACKENDS[row['backend']]}]: b1 "
            f"{row['latency_ms']:.1f} ms [IQR {row['latency_ms_p25']:.1f}-"
            f"{row['latency_ms_p75']:.1f}], {row['gmac_per_s']:.1f} GMAC/s"
            + (f" = {row['gmac_per_s'] / ref_conv['gmac_per_s']:.0%} of the "
               'reference conv' if ref_conv else '') +
            f", b{batch} {row['throughput']:.2f} img/s, other processes "
            f"{_fmt(row['other_load'])} cores")
    if ratios:
        log(f'latency of {config_name(subject_config)} over: ' + ', '.join(
            f"{r['other']} [{BACKENDS[r['backend']]}] {r['ratio']:.3f}x"
            for r in ratios))
    log(f"load average after: {env['loadavg_after'][0]:.2f} (includes this "
        f"run's threads); other processes used "
        f"{_fmt(env['other_load_cores'])} cores on average")
    return dict(
        environment=env,
        settings=dict(
            backends=list(backends),
            batch=batch,
            threads=threads,
            rounds=rounds,
            min_run_time=min_run_time,
            warmup=warmup,
            input_size=list(input_size) if input_size else None,
            subject=subject_config,
            network='tools/deployment/pytorch2onnx.py build_model(): '
            'backbone + head to the last stack\'s heatmaps (SimCC: both '
            'vectors), eval mode, torch.no_grad()',
            macs='mmengine.analysis.FlopAnalyzer (1 MAC = 1 flop), batch 1',
            peak_mem='weights + rise of the peak resident set (CPU, VmHWM) '
            'or of torch.cuda.max_memory_allocated (CUDA) during the first '
            f'batch-{batch} pass of each backend'),
        command=command,
        models=rows,
        ratios=ratios,
        reference_conv=ref_conv)


def _fmt(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:.2f}'


def _prepare(configs, cfgs, backends, dev, batch, threads, warmup,
             input_size, cfg_options, onnx_dir, tool, log):
    """Build every network and its runners; count params and MACs."""
    models, pairs = [], []
    for i, config in enumerate(configs, 1):
        cfg = cfgs[config]
        try:
            network = tool.build_model(cfg, device=str(dev))
        except ValueError as e:  # the exporter's ExportError
            raise BenchmarkError(f'{config}: {e}') from e
        if input_size:
            shape = (3, input_size[1], input_size[0])
        else:
            shape = tuple(tool.input_shape_of(cfg)[1:])
        x1 = torch.randn(1, *shape, device=dev)
        info = dict(
            name=config_name(config),
            config=config,
            input_shape=list(shape),
            params=count_params(network),
            macs=count_macs(network, x1),
            weights_mb=tensor_mb(network))
        models.append(network)
        notes = []
        for backend in backends:
            onnx_file = osp.join(onnx_dir, f"{info['name']}.onnx")
            try:
                runner = make_runner(backend, network, dev, threads,
                                     onnx_file, shape, batch > 1)
            except BenchmarkError as e:
                raise BenchmarkError(f'{config}: {e}') from e
            # Memory of the first batch-N pass: one-time allocations (ONNX
            # Runtime's arena, oneDNN's buffers) stay with the process and
            # count, and later passes reuse them.
            with PeakMemory(dev) as peak, torch.no_grad():
                runner(runner.make_inputs(batch, shape))
            inputs = runner.make_inputs(1, shape)
            pair = dict(
                info,
                backend=backend,
                runner=runner,
                inputs=inputs,
                timer=make_timer(runner, inputs, threads),
                samples=[],
                load=OtherLoad(),
                batch_size=batch,
                peak_rise_mb=peak.mb,
                onnx_max_rel_diff=None)
            if backend == 'onnxruntime':
                # The same input through both: a wrong graph is not timed
                # unnoticed.
                with torch.no_grad():
                    expected = flat_outputs(
                        network(torch.from_numpy(inputs).to(dev)))
                pair['onnx_max_rel_diff'] = relative_difference(
                    runner(inputs),
                    [t.float().cpu().numpy() for t in expected])
                notes.append('ONNX max |diff| / peak '
                             f"{pair['onnx_max_rel_diff']:.2g}")
            with torch.no_grad():
                for _ in range(warmup):
                    runner(inputs)
            pairs.append(pair)
        log(f"[{i}/{len(configs)}] {info['name']}: "
            f"{info['params'] / 1e6:.2f} M params, "
            f"{info['macs'] / 1e9:.2f} GMACs, input {shape[2]}x{shape[1]}"
            + ''.join(f'; {n}' for n in notes))
    return models, pairs


def _throughput(pair: dict, batch: int, threads: int,
                min_run_time: float) -> None:
    """Seconds per batch-``batch`` pass (``batch`` > 1)."""
    runner = pair['runner']
    inputs = runner.make_inputs(batch, pair['input_shape'])
    timer = make_timer(runner, inputs, threads)
    pair['batch_samples'] = time_block(timer, min_run_time)


def _row(pair: dict, accuracies: Dict[str, dict]) -> dict:
    lat = summarize([t * 1e3 for t in pair['samples']])
    batch = pair['batch_size']
    if pair.get('batch_samples'):
        throughput = batch / summarize(pair['batch_samples'])['median']
    else:  # batch 1: the latency measurement is the throughput measurement
        throughput = 1e3 / lat['median']
    acc = accuracies.get(pair['config']) or {}
    rise = pair.get('peak_rise_mb')
    return dict(
        name=pair['name'],
        config=pair['config'],
        backend=pair['backend'],
        input_shape=pair['input_shape'],
        params=pair['params'],
        macs=pair['macs'],
        params_M=pair['params'] / 1e6,
        gmacs=pair['macs'] / 1e9,
        latency_ms=lat['median'],
        latency_ms_p25=lat['p25'],
        latency_ms_p75=lat['p75'],
        latency_ms_min=lat['min'],
        latency_ms_max=lat['max'],
        latency_samples=lat['n'],
        throughput=throughput,
        batch=batch,
        gmac_per_s=pair['macs'] / (lat['median'] / 1e3) / 1e9,
        peak_mem_mb=None if rise is None else pair['weights_mb'] + rise,
        weights_mb=pair['weights_mb'],
        onnx_max_rel_diff=pair['onnx_max_rel_diff'],
        accuracy=acc.get('value'),
        accuracy_key=acc.get('key'),
        accuracy_source=acc.get('source'),
        other_load=pair['load'].cores)
