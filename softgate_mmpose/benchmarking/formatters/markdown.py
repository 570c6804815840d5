# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Markdown report: environment, one table row per model with a column
group per backend, each model's fastest runtime, the subject's latency
ratios, the reference conv."""
import math
from typing import Dict, List, Optional

from ..backends import BACKENDS
from ..result import BenchmarkResult, Row, batch_sizes, rows_by_model


def _fmt(value: Optional[float], spec: str = '.1f') -> str:
    if value is None or (isinstance(value, float)
                         and not math.isfinite(value)):
        return '-'
    return format(value, spec)


def threads(n: int, what: str = 'thread') -> str:
    return f'{n} {what}' + ('' if n == 1 else 's')


def accuracy_cell(row: Row) -> str:
    """``88.90 (PCKh)`` measured, ``88.9 (MPII Mean, reported)`` from
    MMPose's metafiles, ``-`` without a figure."""
    if row.accuracy is None:
        return '-'
    if row.accuracy_source == 'reported':
        return f'{row.accuracy:.1f} ({row.accuracy_key}, reported)'
    return f'{row.accuracy:.2f} ({row.accuracy_key})'


def _header_lines(result: BenchmarkResult, num_models: int) -> List[str]:
    env, settings = result.environment, result.settings
    labels = [BACKENDS[b] for b in settings['backends']]
    versions = ', '.join(
        [f"torch {env['torch']}"] +
        [f'{b} {env[b]}' for b in settings['backends'] if b in env])
    return [
        f'Benchmark of {num_models} models under {", ".join(labels)}, '
        f"{env['date']}, {env['device']} ({env['cpu']}), {versions}, "
        f"{threads(settings['threads'])}; load average "
        f"{env['loadavg_before'][0]:.2f} before, "
        f"{env['loadavg_after'][0]:.2f} after (this run included); other "
        f"processes used {_fmt(env['other_load_cores'], '.2f')} cores on "
        'average.',
        '',
    ]


def _model_table(result: BenchmarkResult) -> List[str]:
    settings = result.settings
    backends, batch = settings['backends'], settings['batch']
    labels = [BACKENDS[b] for b in backends]
    runtimes = [b for b in backends if b != 'pytorch']
    header = ['Model', 'Params (M)', 'GMACs']
    header += [f'{label} b1 (ms), median [IQR]' for label in labels]
    if batch > 1:
        header += [f'{label} b{batch} (ms/img)' for label in labels]
    header += [f'{label} GMAC/s b1' for label in labels]
    header += [f'{label} peak mem b{batch} (MB)' for label in labels]
    header += [f'{BACKENDS[b]} max diff / peak' for b in runtimes]
    header += ['Accuracy', 'Other load (cores)']
    lines = [
        '| ' + ' | '.join(header) + ' |', '|---|' + '---:|' * (len(header) - 1)
    ]
    for per_backend in rows_by_model(result.models).values():
        rows = [per_backend.get(b) for b in backends]
        first = next(r for r in rows if r is not None)
        cells = [first.name, f'{first.params_M:.2f}', f'{first.gmacs:.2f}']
        cells += [
            '-' if r is None else f'{r.latency_ms:.1f} '
            f'[{r.latency_ms_p25:.1f}, {r.latency_ms_p75:.1f}]' for r in rows
        ]
        if batch > 1:
            cells += [
                '-' if r is None else f'{r.batch_ms_per_image:.1f}'
                for r in rows
            ]
        cells += ['-' if r is None else f'{r.gmac_per_s:.1f}' for r in rows]
        cells += [
            '-' if r is None else _fmt(r.peak_mem_mb, '.0f') for r in rows
        ]
        cells += [
            '-' if b not in per_backend else _fmt(per_backend[b].max_rel_diff,
                                                  '.1e') for b in runtimes
        ]
        loads = [
            r.other_load for r in rows
            if r is not None and r.other_load is not None
        ]
        cells += [
            accuracy_cell(first),
            _fmt(max(loads) if loads else None, '.2f')
        ]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def _fastest_table(result: BenchmarkResult) -> List[str]:
    batches = batch_sizes(result.settings['batch'])
    lines = [
        '', 'Fastest backend of each model (latency per image):', '',
        '| Model | ' + ' | '.join(f'batch {b}' for b in batches) + ' |',
        '|---|' + '---|' * len(batches)
    ]
    cells: Dict[str, Dict[int, str]] = {}
    for f in result.fastest:
        cells.setdefault(f.name, {})[f.batch] = \
            f'{BACKENDS[f.backend]} {f.ms_per_image:.1f} ms'
    for name, per_batch in cells.items():
        lines.append(f'| {name} | ' + ' | '.join(per_batch[b]
                                                 for b in batches) + ' |')
    return lines


def _ratio_table(result: BenchmarkResult) -> List[str]:
    if not result.ratios:
        return []
    backends = result.settings['backends']
    kinds = ['fastest'] + list(backends)
    titles = ['each at its fastest'] + [BACKENDS[b] for b in backends]
    table: Dict[tuple, Dict[str, str]] = {}
    for r in result.ratios:
        cell = f'{r.ratio:.3f}x'
        if r.kind == 'fastest':
            cell += (f' ({BACKENDS[r.subject_backend]} / '
                     f'{BACKENDS[r.other_backend]})')
        table.setdefault((r.subject, r.other, r.batch), {})[r.kind] = cell
    lines = [
        '', 'Latency per image of the subject over each other model '
        '(below 1: faster):', '',
        '| Subject | Model | Batch | ' + ' | '.join(titles) + ' |',
        '|---|---|---:|' + '---:|' * len(titles)
    ]
    for (subject, other, batch), per_kind in table.items():
        lines.append(f'| {subject} | {other} | {batch} | ' +
                     ' | '.join(per_kind.get(k, '-') for k in kinds) + ' |')
    return lines


def _reference_lines(result: BenchmarkResult) -> List[str]:
    ref = result.reference_conv
    if not ref:
        return []
    return [
        '',
        f"Reference {ref['description']}, PyTorch, "
        f"{threads(ref['threads'])}: {ref['macs'] / 1e6:.1f} MMACs, "
        f"NCHW {ref['nchw']['latency_ms']:.2f} ms = "
        f"{ref['nchw']['gmac_per_s']:.1f} GMAC/s, channels-last "
        f"{ref['channels_last']['latency_ms']:.2f} ms = "
        f"{ref['channels_last']['gmac_per_s']:.1f} GMAC/s (fastest of "
        f"{len(ref['rounds'])} rounds before and after the models).",
    ]


def _notes(result: BenchmarkResult) -> List[str]:
    settings = result.settings
    batch = settings['batch']
    return [
        '',
        'Latency: wall clock of the network (backbone + head to the last '
        "stack's heatmaps, or a SimCC head's two vectors, as "
        '`softgate_mmpose.deployment` builds and exports it, with the '
        'deploy transform) on a normalised random batch, measured with '
        f"`torch.utils.benchmark.Timer` in {settings['rounds']} round(s) "
        'that take every model and backend in turn at batch 1' +
        (f' and {batch}' if batch > 1 else '') + '; no data loading, '
        'preprocessing, flip test or decoding. PyTorch: eager, eval mode, '
        '`torch.no_grad()`. ONNX Runtime and OpenVINO: the exported graph' +
        (' (dynamic batch)' if batch > 1 else '') + ' on the CPU, '
        f"{threads(settings['threads'])} per call (OpenVINO: LATENCY hint, "
        'f32). MACs: mmengine\'s analysis (convs, linear layers, matmuls). '
        'GMAC/s = MACs / median latency. Peak mem: weights + the rise of '
        'the peak resident set (CPU) or of allocated memory (CUDA) during '
        f'the first batch-{batch} pass (one-time allocations such as a '
        "runtime's arena included). Max diff: largest |runtime - PyTorch| "
        'over the peak output, on the timed inputs. Accuracy: from '
        "`--accuracy` (measured), or MMPose's model-zoo figure from its "
        'metafile (reported, not measured here; metafiles state fractions, '
        'shown in percent). Other load: CPU time of other processes during '
        "the model's timing, in cores (the largest of its backends).",
        '',
        f'Command: `{result.command}`',
    ]


def format_markdown(result: BenchmarkResult) -> str:
    """The report as markdown text."""
    num_models = len(rows_by_model(result.models))
    lines = (
        _header_lines(result, num_models) + _model_table(result) +
        _fastest_table(result) + _ratio_table(result) +
        _reference_lines(result) + _notes(result))
    return '\n'.join(lines) + '\n'
