# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""One formatter per output of the benchmark, and the writer of all four."""
import os
import os.path as osp
from typing import Dict

from ..result import BenchmarkResult
from .csv_table import format_csv
from .json_report import format_json
from .markdown import format_markdown
from .png_plot import render_png

#: Output file name -> formatter of the result (returns bytes).
OUTPUTS = {
    'benchmark.md': lambda result: format_markdown(result).encode(),
    'benchmark.csv': lambda result: format_csv(result.models).encode(),
    'benchmark.json': lambda result: format_json(result).encode(),
    'benchmark.png': render_png,
}


def write_outputs(result: BenchmarkResult, out_dir: str) -> Dict[str, str]:
    """Write ``benchmark.{md,csv,json,png}`` to ``out_dir``.

    Every output is rendered before the first file is written, and each is
    written atomically, so an error leaves no half-written file.

    Returns:
        dict: File name -> path.
    """
    from softgate_mmpose.utils import atomic_write_bytes

    contents = {name: render(result) for name, render in OUTPUTS.items()}
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    for name, data in contents.items():
        path = osp.join(out_dir, name)
        atomic_write_bytes(path, data)
        paths[name] = path
    return paths


__all__ = [
    'format_csv', 'format_json', 'format_markdown', 'render_png',
    'write_outputs', 'OUTPUTS'
]
