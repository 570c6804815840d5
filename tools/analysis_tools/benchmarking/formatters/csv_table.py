# Copyright (c) softgate-mmpose contributors. Licensed under the Apache License 2.0.
"""CSV: one line per (config, backend)."""
import csv
import io
from typing import Sequence

#: Columns of the CSV, in order.
CSV_COLUMNS = ('name', 'config', 'backend', 'params', 'macs', 'params_M',
               'gmacs', 'latency_ms', 'latency_ms_p25', 'latency_ms_p75',
               'latency_ms_min', 'latency_ms_max', 'latency_samples',
               'throughput', 'batch', 'gmac_per_s', 'peak_mem_mb',
               'weights_mb', 'onnx_max_rel_diff', 'accuracy', 'accuracy_key',
               'accuracy_source', 'other_load')


def format_csv(rows: Sequence[dict]) -> str:
    """The result rows as CSV (empty cells for missing values)."""
    buf = io.StringIO()
    writer = csv.DictWriter(
        buf, fieldnames=CSV_COLUMNS, extrasaction='ignore',
        lineterminator='\n')
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ('' if r.get(k) is None else r[k])
                         for k in CSV_COLUMNS})
    return buf.getvalue()
