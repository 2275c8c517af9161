"""Who the thresholds affect: for each protected column, the validation rows' outcomes by group, computed with
fairlearn's MetricFrame, and the approval-rate ratio of each group to the most-approved one (the four-fifths
rule flags a ratio below 0.8).

The validation rows carry each protected column's group (`groups`): a number (an age) in bands of about a
quarter of the rows each, anything else as its value; a missing value is a group of its own.
"""

from functools import partial

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, count, false_positive_rate, selection_rate
from sklearn.metrics import roc_auc_score

from scoring.policy import DecisionPolicy

FOUR_FIFTHS = 0.8
BANDS = 4
MISSING = "missing"
COLUMNS = {  # the group table's columns, as the card and the report print them
    "group": "group", "rows": "rows", "declined_pct": "declined", "maybe_pct": "maybe", "approved_pct": "approved",
    "positive_rate_pct": "positive rate", "auc": "AUC", "false_decline_pct": "false declines",
    "approval_ratio": "approval ratio",
}  # fmt: skip


def groups(values: pd.Series) -> list[str]:
    """Each row's group in a protected column."""
    numbers = pd.to_numeric(values, errors="coerce")
    if values.notna().any() and numbers.notna().sum() == values.notna().sum() and numbers.nunique() > BANDS * 2:
        return _bands(numbers)
    return [MISSING if pd.isna(value) else str(value) for value in values]


def _bands(numbers: pd.Series) -> list[str]:
    """Quartile bands with readable edges: whole numbers as 18-29, 30-38...; others in interval notation with
    the edges rounded (to whole numbers where the values span 10 or more), e.g. [0, 25], (25, 32]..."""
    present = numbers.dropna()
    edges = np.quantile(present, np.linspace(0, 1, BANDS + 1))
    whole = bool((present % 1 == 0).all())
    digits = 0 if whole or np.ptp(present) >= 10 else 2
    scale = 10**digits  # the outer edges rounded outwards, the inner ones to the nearest
    outer = np.floor(present.min() * scale) / scale, np.ceil(present.max() * scale) / scale
    edges = np.unique([outer[0], *np.round(edges[1:-1], digits), outer[1]])
    labels = [_band_label(edges, index, whole) for index in range(len(edges) - 1)]
    banded = pd.cut(numbers, edges, labels=labels, include_lowest=True)
    return [MISSING if pd.isna(band) else str(band) for band in banded]


def _band_label(edges: np.ndarray, index: int, whole: bool) -> str:
    low, high = edges[index], edges[index + 1]
    if whole:  # whole numbers above the band before: 18-29, 30-38...
        return f"{low if index == 0 else low + 1:g}-{high:g}"
    return f"{'[' if index == 0 else '('}{low:g}, {high:g}]"


def _auc(positive: np.ndarray, probabilities: np.ndarray) -> float:
    return float(roc_auc_score(positive, probabilities)) if 0 < positive.sum() < len(positive) else float("nan")


def _positive_rate(positive: np.ndarray, probabilities: np.ndarray) -> float:
    return float(np.mean(positive))


def group_table(probabilities: np.ndarray, positive: np.ndarray, group: list[str], policy: DecisionPolicy) -> list:
    """One row a group, as the service would decide on each validation row: the shares declined, maybe and
    approved, the positive rate, the AUC (where both classes occur), the false-decline rate (declined though
    negative) and the approval ratio to the most-approved group (percentages to 0.1)."""
    declined = partial(_cut, low=policy.decline_threshold, high=1)
    maybe = partial(_cut, low=policy.maybe_threshold, high=policy.decline_threshold)
    approved = partial(_cut, low=-1, high=policy.maybe_threshold)
    frame = MetricFrame(
        metrics={
            "rows": count,
            "declined_pct": partial(_share, band=declined),
            "maybe_pct": partial(_share, band=maybe),
            "approved_pct": partial(_share, band=approved),
            "positive_rate_pct": _positive_rate,
            "auc": _auc,
            "false_decline_pct": lambda positive, probabilities: false_positive_rate(positive, declined(probabilities)),
        },
        y_true=np.asarray(positive, dtype=int),
        y_pred=np.asarray(probabilities, dtype=float),
        sensitive_features=pd.Series(group, name="group"),
    ).by_group
    frame["approval_ratio"] = frame["approved_pct"] / frame["approved_pct"].max()
    rows = []
    for name, row in frame.iterrows():
        rows.append({
            "group": str(name), "rows": int(row["rows"]),
            **{key: round(100 * float(row[key]), 1) for key in COLUMNS if key.endswith("_pct")},
            "auc": None if np.isnan(row["auc"]) else round(float(row["auc"]), 3),
            "approval_ratio": round(float(row["approval_ratio"]), 2),
        })  # fmt: skip
    return rows


def _cut(probabilities: np.ndarray, low: float, high: float) -> np.ndarray:
    """The rows the policy gives the status of this band (above `low`, up to `high`), as DecisionPolicy.decide."""
    return (probabilities > low) & (probabilities <= high)


def _share(positive: np.ndarray, probabilities: np.ndarray, band) -> float:
    return float(selection_rate(positive, band(probabilities)))


def flagged(table: list[dict]) -> list[str]:
    """The groups approved at under four fifths of the most-approved group's rate."""
    return [row["group"] for row in table if row["approval_ratio"] < FOUR_FIFTHS]


def cells(row: dict) -> list[str]:
    """A group's row as the card and the report print it."""
    ratio = f"{row['approval_ratio']:.2f}" + (" ⚠" if row["approval_ratio"] < FOUR_FIFTHS else "")
    auc = "-" if row["auc"] is None else f"{row['auc']:.3f}"
    percentages = [f"{row[key]:.1f} %" for key in COLUMNS if key.endswith("_pct")]
    return [row["group"], f"{row['rows']:,}", *percentages[:4], auc, percentages[4], ratio]
