"""Records -> the model's feature matrix, by the data contract.

Numbers go in as they are (missing = NaN, which every supported framework handles natively),
booleans as 1/0, categories one-hot (missing = all zeros). The same code encodes a request's
records and a data file's rows, so training, the service and batch scoring cannot drift apart.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from scoring.contract import Contract


class FeatureEncoder:
    def __init__(self, contract: Contract) -> None:
        self.columns: list[str] = []  # the model's feature names, in order
        self._numbers: list[tuple[str, int, dict | None]] = []  # (field, column, a boolean's {value: 1/0})
        self._one_hot: list[tuple[str, dict[str, int]]] = []  # category field -> {category: column}
        for name, spec in contract.fields.items():
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
        return self._encode(len(records), lambda name: [record[name] for record in records])

    def encode_frame(self, frame) -> np.ndarray:
        """Rows of a pandas DataFrame checked by scoring.data.check_rows."""
        return self._encode(len(frame), frame.__getitem__)

    def _encode(self, rows: int, column: Callable[[str], Sequence]) -> np.ndarray:
        matrix = np.zeros((rows, len(self.columns)))
        for name, index, lookup in self._numbers:
            values = column(name)
            if lookup:
                values = [lookup.get(value, np.nan) for value in values]
            matrix[:, index] = np.asarray(values, dtype=float)
        for name, positions in self._one_hot:
            hot = np.fromiter((positions.get(value, -1) for value in column(name)), dtype=np.intp, count=rows)
            present = hot >= 0  # missing (or, in unchecked data, unknown) categories stay all zeros
            matrix[np.flatnonzero(present), hot[present]] = 1.0
        return matrix
