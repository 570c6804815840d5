# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""JSON: the whole result (environment, settings, rows, ratios, reference
conv, command)."""
import json
import math


def _finite(value):
    """JSON has no infinity: a non-finite float becomes ``None``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def format_json(result: dict) -> str:
    """The result as indented JSON."""
    return json.dumps(_finite(result), indent=2, allow_nan=False) + '\n'
