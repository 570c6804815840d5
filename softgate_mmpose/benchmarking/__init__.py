# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The logic of ``tools/analysis_tools/benchmark.py``.

- :mod:`.configs`: configs (``mmpose::...``), names, look-up by name;
- :mod:`.measure`: parameter and MAC counts, timing, memory, other load;
- :mod:`.backends`: eager PyTorch, ONNX Runtime and OpenVINO runners;
- :mod:`.accuracy`: measured (metrics files) and reported (MMPose's
  metafiles) accuracy;
- :mod:`.result`: a row per model and backend, fastest runtimes, ratios;
- :mod:`.run`: the interleaved measurement of models × backends;
- :mod:`.formatters`: markdown, CSV, JSON and PNG outputs.

The machine's reference figure (the single-conv MAC rate) lives in
:mod:`softgate_mmpose.utils.machine`.
"""
from .backends import BACKENDS
from .configs import BenchmarkError
from .result import BenchmarkResult, Ratio, Row
from .run import Options, run_benchmark

__all__ = [
    'BACKENDS', 'BenchmarkError', 'BenchmarkResult', 'Options', 'Ratio', 'Row',
    'run_benchmark'
]
