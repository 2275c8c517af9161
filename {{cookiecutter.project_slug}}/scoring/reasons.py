"""Principal reasons: the fields that pushed a record's probability up the most, from exact tree attributions.

A model's contributions are per feature column; a category's one-hot columns are summed back to its field, so
each reason names a field of the request. Positive contributions only (they raise the probability of the
positive class), largest first, on the log-odds scale, each with the text contract.yaml gives it.
"""

import numpy as np

from scoring.contract import Contract
from scoring.features import FeatureEncoder


class Reasons:
    def __init__(self, contract: Contract, encoder: FeatureEncoder) -> None:
        self.fields = list(contract.fields)
        self.texts = [contract.reason_text(name) for name in self.fields]
        self.starts = np.array(encoder.field_starts)

    def by_field(self, contributions: np.ndarray) -> np.ndarray:
        """Contributions (the bias last) summed by field: one column per contract field, in its order."""
        return np.add.reduceat(contributions[:, :-1], self.starts, axis=1)

    def principal(self, contributions: np.ndarray, limit: int) -> list[list[dict]]:
        """For each row, at most `limit` reasons: {"field", "contribution", "text"}, largest first."""
        by_field = self.by_field(contributions)
        order = np.argsort(-by_field, axis=1, kind="stable")[:, :limit]
        return [
            [{"field": self.fields[i], "contribution": row[i], "text": self.texts[i]} for i in top if row[i] > 0]
            for row, top in zip(by_field.tolist(), order.tolist(), strict=True)
        ]
