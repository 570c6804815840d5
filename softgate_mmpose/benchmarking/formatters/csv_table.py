# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""CSV: one line per (model, backend)."""
import csv
import dataclasses
import io
from typing import Sequence

from ..result import ROW_FIELDS, Row

#: Columns of the CSV, in order: the fields of a :class:`Row`.
CSV_COLUMNS = tuple(f for f in ROW_FIELDS if f != 'input_shape')


def format_csv(rows: Sequence[Row]) -> str:
    """The result rows as CSV (empty cells for missing values)."""
    buf = io.StringIO()
    writer = csv.DictWriter(
        buf,
        fieldnames=CSV_COLUMNS,
        extrasaction='ignore',
        lineterminator='\n')
    writer.writeheader()
    for row in rows:
        values = dataclasses.asdict(row)
        writer.writerow(
            {k: ('' if values[k] is None else values[k])
             for k in CSV_COLUMNS})
    return buf.getvalue()
