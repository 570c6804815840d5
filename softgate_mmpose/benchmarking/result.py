# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""The named data of a benchmark: a row per model and backend, each model's
fastest runtime, latency ratios, the whole result."""
import dataclasses
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence


@dataclass
class Row:
    """One model under one backend.

    Latencies are medians (and quartiles, extremes) of the timed calls in
    milliseconds; ``batch_ms_per_image`` is a batch-``batch`` call's time
    over ``batch`` (the batch-1 latency when ``batch`` is 1).
    """
    name: str
    config: str
    num_stacks: Optional[int]
    backend: str
    input_shape: List[int]
    params: int
    macs: int
    latency_ms: float
    latency_ms_p25: float
    latency_ms_p75: float
    latency_ms_min: float
    latency_ms_max: float
    latency_samples: int
    batch: int
    batch_ms_per_image: float
    batch_ms_per_image_p25: float
    batch_ms_per_image_p75: float
    peak_mem_mb: Optional[float]
    weights_mb: float
    max_rel_diff: Optional[float]
    accuracy: Optional[float]
    accuracy_key: Optional[str]
    accuracy_source: Optional[str]
    other_load: Optional[float]
    params_M: float = field(init=False)
    gmacs: float = field(init=False)
    gmac_per_s: float = field(init=False)
    throughput: float = field(init=False)

    def __post_init__(self):
        self.params_M = self.params / 1e6
        self.gmacs = self.macs / 1e9
        self.gmac_per_s = self.macs / (self.latency_ms / 1e3) / 1e9
        self.throughput = 1e3 / self.batch_ms_per_image

    def ms_per_image(self, batch: int) -> float:
        """Latency per image at batch 1 or at the row's batch."""
        return self.latency_ms if batch == 1 else self.batch_ms_per_image


#: The fields of a row, in CSV order.
ROW_FIELDS = tuple(f.name for f in dataclasses.fields(Row))


@dataclass
class Fastest:
    """A model's fastest backend at one batch size."""
    name: str
    batch: int
    backend: str
    ms_per_image: float


@dataclass
class Ratio:
    """Latency per image of ``subject`` over ``other``'s at ``batch`` (below
    1: the subject is faster). ``kind`` is ``'fastest'`` (each model at its
    fastest backend) or the one backend both ran in."""
    subject: str
    other: str
    batch: int
    kind: str
    subject_backend: str
    other_backend: str
    ratio: float


@dataclass
class BenchmarkResult:
    """Everything a run measured, as the formatters write it."""
    environment: dict
    settings: dict
    command: str
    models: List[Row]
    fastest: List[Fastest]
    ratios: List[Ratio]
    reference_conv: Optional[dict]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def batch_sizes(batch: int) -> List[int]:
    return [1] if batch == 1 else [1, batch]


def rows_by_model(rows: Sequence[Row]) -> Dict[str, Dict[str, Row]]:
    """``{model name: {backend: row}}`` in the order of the rows."""
    models: Dict[str, Dict[str, Row]] = {}
    for r in rows:
        models.setdefault(r.name, {})[r.backend] = r
    return models


def fastest_rows(rows: Sequence[Row], batch: int) -> List[Fastest]:
    """Each model's fastest backend at batch 1 and at ``batch``."""
    fastest = []
    for name, per_backend in rows_by_model(rows).items():
        for b in batch_sizes(batch):
            best = min(per_backend.values(), key=lambda r: r.ms_per_image(b))
            fastest.append(
                Fastest(name, b, best.backend, best.ms_per_image(b)))
    return fastest


def ratios_of(rows: Sequence[Row], subjects: Sequence[str],
              batch: int) -> List[Ratio]:
    """Latency ratios of each subject model to every other model, at each
    batch size: between their fastest backends, then per shared backend."""
    models = rows_by_model(rows)
    best = {(f.name, f.batch): f for f in fastest_rows(rows, batch)}
    ratios = []
    for subject in subjects:
        for other in models:
            if other in subjects:
                continue
            for b in batch_sizes(batch):
                mine, theirs = best[(subject, b)], best[(other, b)]
                ratios.append(
                    Ratio(subject, other, b, 'fastest', mine.backend,
                          theirs.backend,
                          mine.ms_per_image / theirs.ms_per_image))
                for backend, row in models[subject].items():
                    if backend in models[other]:
                        ratios.append(
                            Ratio(
                                subject, other, b, backend, backend, backend,
                                row.ms_per_image(b) /
                                models[other][backend].ms_per_image(b)))
    return ratios


__all__ = [
    'BenchmarkResult', 'Fastest', 'ROW_FIELDS', 'Ratio', 'Row', 'batch_sizes',
    'fastest_rows', 'ratios_of', 'rows_by_model'
]
