"""Who the thresholds affect: for each protected column, the validation rows' outcomes by group, computed with
fairlearn's MetricFrame, and the approval-rate ratio of each group to the most-approved one, flagged below
0.8: the four-fifths rule, a screening heuristic from US employment practice, not a legal test.

The validation rows carry each protected column's group (`groups`): a number (an age) in bands of about a
quarter of the rows each, anything else as its value; a missing value is a group of its own.
"""

import math
import re
from functools import partial

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, count, false_positive_rate
from sklearn.metrics import roc_auc_score

from scoring.policy import DecisionPolicy

FOUR_FIFTHS = 0.8
MIN_GROUP_ROWS = 30  # fewer rows make a ratio too rough to flag: the card says "few rows" instead
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


def percentages(counts: list[int]) -> list[float]:
    """Each count's share of the total in %, to 0.1, adding up to exactly 100.0: the tenths lost to rounding
    down go to the counts that lost the most (largest remainders)."""
    exact = [1000 * count / sum(counts) for count in counts]
    tenths = [math.floor(value) for value in exact]
    by_remainder = sorted(range(len(counts)), key=lambda index: tenths[index] - exact[index])
    for index in by_remainder[: 1000 - sum(tenths)]:
        tenths[index] += 1
    return [value / 10 for value in tenths]


def _status_counts(positive: np.ndarray, statuses: np.ndarray, labels: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(int((statuses == label).sum()) for label in labels)


def _positive_rate(positive: np.ndarray, statuses: np.ndarray) -> float:
    return float(np.mean(positive))


def _auc(positive: np.ndarray, statuses: np.ndarray, probabilities: np.ndarray) -> float:
    return float(roc_auc_score(positive, probabilities)) if 0 < positive.sum() < len(positive) else math.nan


def _false_declines(positive: np.ndarray, statuses: np.ndarray, declined: str) -> float:
    """The share of the group's negative rows that were declined (nan: the group has none)."""
    return float(false_positive_rate(positive, statuses == declined)) if (positive == 0).any() else math.nan


def group_table(probabilities: np.ndarray, positive: np.ndarray, group: list[str], policy: DecisionPolicy) -> list:
    """One row a group, as the service would decide on each validation row (DecisionPolicy.decide): the
    shares declined, maybe and approved (adding up to 100.0), the positive rate, the AUC (where both
    classes occur), the false-decline rate (declined though negative), the approval ratio to the
    most-approved group, and whether that ratio is below four fifths in a group of MIN_GROUP_ROWS or more."""
    labels = (policy.declined_label, policy.maybe_label, policy.approved_label)
    statuses = np.array([policy.decide(probability) for probability in probabilities], dtype=object)
    frame = MetricFrame(
        metrics={
            "rows": count,
            "statuses": partial(_status_counts, labels=labels),
            "positive_rate": _positive_rate,
            "auc": _auc,
            "false_declines": partial(_false_declines, declined=policy.declined_label),
        },
        y_true=np.asarray(positive, dtype=int),
        y_pred=statuses,
        sensitive_features=pd.Series(group, name="group"),
        sample_params={"auc": {"probabilities": np.asarray(probabilities, dtype=float)}},
    ).by_group
    approved = {name: counts[2] / rows for name, (rows, counts) in frame[["rows", "statuses"]].iterrows()}
    most = max(approved.values())
    table = []
    for name, row in frame.iterrows():
        declined, maybe, approved_pct = percentages(list(row["statuses"]))
        ratio = approved[name] / most if most else math.nan
        table.append({
            "group": str(name), "rows": int(row["rows"]),
            "declined_pct": declined, "maybe_pct": maybe, "approved_pct": approved_pct,
            "positive_rate_pct": round(100 * row["positive_rate"], 1),
            "auc": _rounded(row["auc"], 3),
            "false_decline_pct": _rounded(100 * row["false_declines"], 1),
            "approval_ratio": _rounded(ratio, 2),
            "below_four_fifths": bool(ratio < FOUR_FIFTHS and row["rows"] >= MIN_GROUP_ROWS),
        })  # fmt: skip
    return sorted(table, key=lambda row: _group_order(row["group"]))


def _group_order(group: str) -> tuple:
    """Bands by their first number ([0, 25] before (25, 32]; 5-17 before 18-29), then the rest by name, missing last."""
    number = re.match(r"[\[(]?(-?[\d.]+)", group)
    return group == MISSING, float(number[1]) if number else math.inf, group


def _rounded(value: float, digits: int) -> float | None:
    return None if math.isnan(value) else round(float(value), digits)


def flagged(table: list[dict]) -> list[str]:
    """The groups of MIN_GROUP_ROWS rows or more approved at under four fifths of the most-approved group's rate."""
    return [row["group"] for row in table if row["below_four_fifths"]]


def cells(row: dict) -> list[str]:
    """A group's row as the card and the report print it; "-" where a figure has no meaning."""
    shares = [_figure(row[key], "{:.1f} %") for key in COLUMNS if key.endswith("_pct")]
    ratio = _figure(row["approval_ratio"], "{:.2f}")
    if row["below_four_fifths"]:
        ratio += " ⚠"
    elif row["rows"] < MIN_GROUP_ROWS:
        ratio += " (few rows)"
    return [row["group"], f"{row['rows']:,}", *shares[:4], _figure(row["auc"], "{:.3f}"), shares[4], ratio]


def _figure(value: float | None, form: str) -> str:
    return "-" if value is None else form.format(value)
