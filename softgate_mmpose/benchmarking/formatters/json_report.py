# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""JSON: the whole result (environment, settings, rows, fastest runtimes,
ratios, reference conv, command)."""
import json
import math

from ..result import BenchmarkResult


def _finite(value):
    """JSON has no infinity: a non-finite float becomes ``None``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def format_json(result: BenchmarkResult) -> str:
    """The result as indented JSON."""
    return json.dumps(
        _finite(result.to_dict()), indent=2, allow_nan=False) + '\n'
