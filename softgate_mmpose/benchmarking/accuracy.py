# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Accuracy figures: measured (a test run's metrics file) or reported (the
model zoo's metafiles of MMPose)."""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from .configs import BenchmarkError, config_name, resolve_config_path

#: Metric names tried, in order, when no accuracy key is given.
ACCURACY_KEYS = ('PCKh', 'PCK', 'Mean', 'AP', 'PCK@0.2', 'AUC')
#: Metafile metrics tried, in order: MPII's PCKh@0.5 is ``Mean``.
REPORTED_KEYS = ('Mean', 'PCK', 'AP', 'AUC')


def parse_accuracy_args(items: Sequence[str],
                        configs: Sequence[str]) -> Dict[str, str]:
    """Map ``CONFIG=PATH`` items to the configs they name (the config as
    given or its file name, with or without ``.py``).

    Raises:
        BenchmarkError: On a malformed item or a config not benchmarked.
    """
    mapping = {}
    for item in items:
        key, sep, path = item.partition('=')
        if not sep or not key or not path:
            raise BenchmarkError(f'--accuracy {item!r}: expected CONFIG=PATH')
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
    if isinstance(data, list) and data and all(
            isinstance(d, dict) for d in data):
        return data
    raise BenchmarkError(
        f'{path}: not a metrics file (expected a json/yaml/pickle dict of '
        'metrics or JSON lines of dicts)')


def read_accuracy(path: str, key: Optional[str] = None) -> Tuple[str, float]:
    """One metric of a test run's results.

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


def reported_accuracy(config: str,
                      package: str = 'mmpose') -> Optional[Dict[str, object]]:
    """The accuracy MMPose's model zoo publishes for one of its configs.

    Looks the config file up in the metafiles of the installed package
    (through :mod:`softgate_mmpose.apis.metafile`, the one metafile reader:
    the ``Results`` of its entry in ``model-index.yml``'s metafiles; a copy
    of the file elsewhere is not the package's config) and takes
    the first of :data:`REPORTED_KEYS` found. Metafiles state fractions
    (``Mean: 0.889``); the value is returned in percent, as a test run
    reports it.

    Returns:
        dict | None: ``value`` (percent), ``key`` (e.g. ``'MPII Mean'``),
        ``published`` (the value as written) and ``metafile_config``;
        ``None`` for a config of another package or one without results.
    """
    from softgate_mmpose.apis.metafile import (find_model, package_model_index,
                                               read_models)

    index = package_model_index(package)
    if index is None:
        return None
    try:
        path = resolve_config_path(config)
    except BenchmarkError:
        return None
    model = find_model(read_models(index), path)
    if model is None:
        return None
    for result in model.results:
        metrics = result.get('Metrics') or {}
        for key in REPORTED_KEYS:
            value = metrics.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return dict(
                    value=float(value) * 100 if value <= 1 else float(value),
                    key=f"{result.get('Dataset', '?')} {key}",
                    published=value,
                    metafile_config=model.config_field)
    return None


def collect_accuracies(configs: Sequence[str], accuracy: Sequence[str],
                       accuracy_key: Optional[str]) -> Dict[str, dict]:
    """``{config: accuracy}`` for every config with a figure: measured from
    an ``--accuracy`` file, else reported by MMPose's metafiles.

    Every accuracy file is read here, before any model is measured.
    """
    files = parse_accuracy_args(accuracy, configs)
    figures = {}
    for config in configs:
        if config in files:
            key, value = read_accuracy(files[config], accuracy_key)
            figures[config] = dict(
                value=value, key=key, source='measured', file=files[config])
            continue
        reported = reported_accuracy(config)
        if reported is not None:
            figures[config] = dict(
                value=reported['value'],
                key=reported['key'],
                source='reported',
                published=reported['published'],
                file=reported['metafile_config'])
    return figures


__all__ = [
    'ACCURACY_KEYS', 'parse_accuracy_args', 'read_accuracy',
    'reported_accuracy', 'collect_accuracies'
]
