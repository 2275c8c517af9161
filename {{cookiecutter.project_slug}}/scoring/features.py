"""Records -> the model's feature matrix, by the data contract.

Numbers go in as they are (missing = NaN, which every supported framework handles natively),
booleans as 1/0, categories one-hot (missing = all zeros). One set of field-to-column maps encodes
both a request's few records, row by row in plain Python (numpy's per-call cost dominates a single
row), and a data file's many rows, column by column in numpy; a test holds the two to the same result.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from scoring.contract import Contract


class FeatureEncoder:
    def __init__(self, contract: Contract) -> None:
        self.columns: list[str] = []  # the model's feature names, in order
        self.field_starts: list[int] = []  # each field's first column: a field's columns follow each other
        self._numbers: list[tuple[str, int, dict | None]] = []  # (field, column, a boolean's {value: 1/0})
        self._one_hot: list[tuple[str, dict[str, int]]] = []  # category field -> {category: column}
        for name, spec in contract.fields.items():
            self.field_starts.append(len(self.columns))
            if spec.kind == "category":
                self._one_hot.append((name, {value: self._add(f"{name}={value}") for value in spec.categories}))
            elif spec.kind == "boolean":
                lookup = {True: 1.0, False: 0.0, spec.true_value: 1.0, spec.false_value: 0.0}
                self._numbers.append((name, self._add(name), lookup))
            else:
                self._numbers.append((name, self._add(name), None))

    def _add(self, column: str) -> int:
        self.columns.append(column)
        return len(self.columns) - 1

    def encode_records(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Records as the service receives them: dicts keyed by the contract's field names."""
        width, rows = len(self.columns), []
        for record in records:
            row = [0.0] * width
            for name, index, lookup in self._numbers:
                value = record[name]
                row[index] = math.nan if value is None else lookup.get(value, math.nan) if lookup else value
            for name, positions in self._one_hot:
                if (position := positions.get(record[name])) is not None:  # missing: all zeros
                    row[position] = 1.0
            rows.append(row)
        return np.array(rows, dtype=float).reshape(len(records), width)

    def encode_frame(self, frame) -> np.ndarray:
        """Rows of a pandas DataFrame checked by scoring.data.check_rows."""
        matrix = np.zeros((len(frame), len(self.columns)))
        for name, index, lookup in self._numbers:
            values = frame[name]
            if lookup:
                values = [lookup.get(value, np.nan) for value in values.to_numpy(object)]
            matrix[:, index] = np.asarray(values, dtype=float)
        for name, positions in self._one_hot:
            # as Python objects first: iterating an Arrow-backed text column value by value is slower
            values = frame[name].to_numpy(object)
            hot = np.fromiter((positions.get(value, -1) for value in values), dtype=np.intp, count=len(frame))
            present = hot >= 0  # missing (or, in unchecked data, unknown) categories stay all zeros
            matrix[np.flatnonzero(present), hot[present]] = 1.0
        return matrix
