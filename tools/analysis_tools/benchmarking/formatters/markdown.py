# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""Markdown report: environment, one table row per model with a column
group per backend, the subject's latency ratios, the reference conv."""
import math
from collections import OrderedDict
from typing import Dict, List, Optional

from ..backends import BACKENDS


def _fmt(value: Optional[float], spec: str = '.1f') -> str:
    if value is None or (isinstance(value, float)
                         and not math.isfinite(value)):
        return '-'
    return format(value, spec)


def threads(n: int, what: str = 'thread') -> str:
    return f'{n} {what}' + ('' if n == 1 else 's')


def accuracy_cell(row: dict) -> str:
    """``88.90 (PCKh)`` measured, ``88.9 (MPII Mean, reported)`` from
    MMPose's metafiles, ``-`` without a figure."""
    if row.get('accuracy') is None:
        return '-'
    if row.get('accuracy_source') == 'reported':
        return f"{row['accuracy']:.1f} ({row['accuracy_key']}, reported)"
    return f"{row['accuracy']:.2f} ({row['accuracy_key']})"


def group_by_model(rows: List[dict]) -> 'OrderedDict[str, Dict[str, dict]]':
    """``{config: {backend: row}}`` in the order of the rows."""
    models: 'OrderedDict[str, Dict[str, dict]]' = OrderedDict()
    for r in rows:
        models.setdefault(r['config'], {})[r['backend']] = r
    return models


def format_markdown(result: dict) -> str:
    """The report as markdown text."""
    env, settings = result['environment'], result['settings']
    backends = settings['backends']
    batch = settings['batch']
    labels = [BACKENDS[b] for b in backends]
    models = group_by_model(result['models'])
    versions = f"torch {env['torch']}" + (
        f", onnxruntime {env['onnxruntime']}" if 'onnxruntime' in env else '')
    lines = [
        f'Benchmark of {len(models)} models under '
        f"{' and '.join(labels)}, {env['date']}, {env['device']} "
        f"({env['cpu']}), {versions}, {threads(settings['threads'])}; load "
        f"average {env['loadavg_before'][0]:.2f} before, "
        f"{env['loadavg_after'][0]:.2f} after (this run included); other "
        f"processes used {_fmt(env['other_load_cores'], '.2f')} cores on "
        'average.',
        '',
    ]
    header = ['Model', 'Params (M)', 'GMACs']
    header += [f'{label} b1 (ms), median [IQR]' for label in labels]
    if batch > 1:
        header += [f'{label} b{batch} (img/s)' for label in labels]
    header += [f'{label} GMAC/s b1' for label in labels]
    header += [f'{label} peak mem b{batch} (MB)' for label in labels]
    with_onnx = 'onnxruntime' in backends
    if with_onnx:
        header.append('ONNX max diff / peak')
    header += ['Accuracy', 'Other load (cores)']
    lines.append('| ' + ' | '.join(header) + ' |')
    lines.append('|---|' + '---:|' * (len(header) - 1))
    for per_backend in models.values():
        first = next(iter(per_backend.values()))
        cells = [first['name'], f"{first['params_M']:.2f}",
                 f"{first['gmacs']:.2f}"]
        rows = [per_backend.get(b) for b in backends]
        cells += [
            '-' if r is None else
            f"{r['latency_ms']:.1f} [{r['latency_ms_p25']:.1f}, "
            f"{r['latency_ms_p75']:.1f}]" for r in rows
        ]
        if batch > 1:
            cells += ['-' if r is None else f"{r['throughput']:.2f}"
                      for r in rows]
        cells += ['-' if r is None else f"{r['gmac_per_s']:.1f}"
                  for r in rows]
        cells += ['-' if r is None else _fmt(r['peak_mem_mb'], '.0f')
                  for r in rows]
        if with_onnx:
            ort = per_backend.get('onnxruntime')
            cells.append('-' if ort is None else
                         _fmt(ort['onnx_max_rel_diff'], '.1e'))
        loads = [r['other_load'] for r in rows
                 if r is not None and r['other_load'] is not None]
        cells += [accuracy_cell(first),
                  _fmt(max(loads) if loads else None, '.2f')]
        lines.append('| ' + ' | '.join(cells) + ' |')

    ratios = result.get('ratios') or []
    if ratios:
        subject = ratios[0]['subject']
        table: 'OrderedDict[str, Dict[str, float]]' = OrderedDict()
        for r in ratios:
            table.setdefault(r['other'], {})[r['backend']] = r['ratio']
        lines += [
            '', f'Latency of {subject} at batch 1 over each model\'s '
            '(below 1: faster):', '',
            '| Model | ' + ' | '.join(labels) + ' |',
            '|---|' + '---:|' * len(labels)
        ]
        for other, per_backend in table.items():
            lines.append(f'| {other} | ' + ' | '.join(
                _fmt(per_backend.get(b), '.3f') + 'x'
                if b in per_backend else '-' for b in backends) + ' |')

    ref = result.get('reference_conv')
    if ref:
        lines += [
            '',
            f"Reference {ref['description']}, PyTorch, "
            f"{threads(ref['threads'])}: {ref['macs'] / 1e6:.1f} MMACs, "
            f"NCHW {ref['nchw']['latency_ms']:.2f} ms = "
            f"{ref['nchw']['gmac_per_s']:.1f} GMAC/s, channels-last "
            f"{ref['channels_last']['latency_ms']:.2f} ms = "
            f"{ref['channels_last']['gmac_per_s']:.1f} GMAC/s (fastest of "
            f"{len(ref['rounds'])} rounds before and after the models).",
        ]
    lines += [
        '',
        'Latency: wall clock of the network (backbone + head to the last '
        "stack's heatmaps, or a SimCC head's two vectors, as "
        '`tools/deployment/pytorch2onnx.py` exports it) on a normalised '
        'random batch, measured with `torch.utils.benchmark.Timer` in '
        f"{settings['rounds']} round(s) that take every model and backend in "
        'turn; no data loading, preprocessing, flip test or decoding. '
        "PyTorch: eager, eval mode, `torch.no_grad()`. ONNX Runtime: the "
        'exported graph, CPU execution provider, '
        f"{threads(settings['threads'], 'intra-op thread')}. MACs: "
        "mmengine's analysis "
        '(convs, linear layers, matmuls). GMAC/s = MACs / median latency. '
        'Peak mem: weights + the rise of the peak resident set (CPU) or of '
        f'allocated memory (CUDA) during the first batch-{batch} pass (one-'
        "time allocations such as ONNX Runtime's arena included). ONNX max "
        'diff: largest |ONNX Runtime - PyTorch| over the peak output. '
        "Accuracy: from `--accuracy` (measured), or MMPose's model-zoo "
        "figure from its metafile (reported, not measured here; metafiles "
        "state fractions, shown in percent). Other load: CPU time of other "
        "processes during the model's timing, in cores (the larger of its "
        'backends).',
        '',
        f"Command: `{result['command']}`",
    ]
    return '\n'.join(lines) + '\n'
