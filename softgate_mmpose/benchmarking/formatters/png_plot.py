# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""PNG: latency (batch 1, per backend) and accuracy against GMACs.

Drawn with matplotlib's object-oriented API on an Agg canvas, so that
rendering neither needs nor changes a global matplotlib backend.
"""
import io
import re

from ..backends import BACKENDS
from ..result import BenchmarkResult, rows_by_model

#: Marker of each backend in the latency panel.
MARKERS = {'pytorch': 'o', 'onnxruntime': 's', 'openvino': '^'}


def short_name(name: str) -> str:
    """A config name without MMPose's naming parts that all the models
    share: ``td-hm_hourglass52_8xb64-210e_mpii-256x256`` -> ``hourglass52``
    (the table keeps the full names)."""
    name = re.sub(r'^td-(hm|reg)_', '', name)
    suffix = re.search(r' \[\d+ stacks?\]$', name)
    name = name[:suffix.start()] if suffix else name
    name = re.sub(r'_(\d+xb\d+.*|[a-z0-9]+-\d+x\d+)$', '', name)
    return name + (suffix.group(0) if suffix else '')


def render_png(result: BenchmarkResult) -> bytes:
    """The plot as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    models = rows_by_model(result.models)
    colors = {config: f'C{i % 10}' for i, config in enumerate(models)}
    fig = Figure(figsize=(13, 5))
    FigureCanvasAgg(fig)
    ax_lat, ax_acc = fig.subplots(1, 2)
    for config, per_backend in models.items():
        for backend, r in per_backend.items():
            ax_lat.errorbar(
                r.gmacs,
                r.latency_ms,
                yerr=[[r.latency_ms - r.latency_ms_p25],
                      [r.latency_ms_p75 - r.latency_ms]],
                fmt=MARKERS.get(backend, 'o'),
                color=colors[config],
                capsize=3)
        first = next(iter(per_backend.values()))
        ax_lat.annotate(
            short_name(first.name), (first.gmacs, first.latency_ms),
            fontsize=7,
            xytext=(4, 4),
            textcoords='offset points')
    for backend in result.settings['backends']:
        ax_lat.plot([], [],
                    MARKERS.get(backend, 'o'),
                    color='gray',
                    label=BACKENDS[backend])
    ax_lat.legend(fontsize=8)
    env = result.environment
    ax_lat.set_xlabel('GMACs per image')
    ax_lat.set_yscale('log')  # models and backends span two decades
    ax_lat.set_ylabel('latency at batch 1 (ms, median and IQR; log scale)')
    ax_lat.set_title(
        f"{env['device']}, {result.settings['threads']} "
        'threads',
        fontsize=9)
    ax_lat.grid(alpha=0.3)

    keys, missing = set(), []
    for config, per_backend in models.items():
        r = next(iter(per_backend.values()))
        if r.accuracy is None:
            missing.append(r.name)
            continue
        reported = r.accuracy_source == 'reported'
        ax_acc.plot(
            r.gmacs,
            r.accuracy,
            'o',
            color=colors[config],
            markerfacecolor='none' if reported else colors[config])
        ax_acc.annotate(
            short_name(r.name) + (' (reported)' if reported else ''),
            (r.gmacs, r.accuracy),
            fontsize=7,
            xytext=(4, 4),
            textcoords='offset points')
        keys.add(r.accuracy_key)
    if keys:
        ax_acc.set_ylabel(f"accuracy, % ({', '.join(sorted(keys))})")
        ax_acc.set_title(
            'filled: measured (--accuracy); hollow: reported by MMPose\'s '
            'metafiles',
            fontsize=9)
    ax_acc.margins(y=0.15)
    if missing:  # below the panel, clear of its points
        ax_acc.text(
            0,
            -0.13,
            'no accuracy figure (pass --accuracy CONFIG=metrics.json): ' +
            ', '.join(short_name(n) for n in missing),
            fontsize=6,
            va='top',
            wrap=True,
            transform=ax_acc.transAxes)
    ax_acc.set_xlim(ax_lat.get_xlim())  # the same models at the same x
    ax_acc.set_xlabel('GMACs per image')
    ax_acc.grid(alpha=0.3)
    # Fixed margins: labels near a panel's edge may run into the gap
    # rather than shrink the panels.
    fig.subplots_adjust(
        left=0.06, right=0.98, bottom=0.2, top=0.92, wspace=0.2)
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=120)
    return buf.getvalue()
