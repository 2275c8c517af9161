"""Credit-scoring data: a deterministic synthetic sample, CSV loading and cleaning.

Raw data uses the layout of the public CreditScoring.csv: a Status column (1 repaid, 2 defaulted,
0 unknown), numeric codes for the categorical columns and 99999999 for missing money amounts.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from credit_scoring.features import CATEGORY_CODES, FEATURE_COLUMNS, NUMERIC_COLUMNS

MISSING_AMOUNT = 99999999
REPAID, DEFAULTED = 1, 2


def synthetic_credit_data(rows: int = 5000, seed: int = 42) -> pd.DataFrame:
    """Raw applications shaped like CreditScoring.csv, with defaults driven by known risk factors."""
    rng = np.random.default_rng(seed)

    def codes(column: str, weights: list[float]) -> np.ndarray:
        return rng.choice(list(CATEGORY_CODES[column]), size=rows, p=weights)

    home = codes("home", [0.22, 0.48, 0.05, 0.01, 0.17, 0.065, 0.005])
    marital = codes("marital", [0.22, 0.73, 0.01, 0.03, 0.01, 0.0])
    records = codes("records", [0.83, 0.17, 0.0])
    job = codes("job", [0.63, 0.10, 0.23, 0.04, 0.0])
    seniority = np.minimum(rng.exponential(8, rows), 48).astype(int)
    age = np.clip(rng.normal(37, 11, rows), 18, 70).astype(int)
    time = rng.choice([12, 24, 36, 48, 60], size=rows, p=[0.1, 0.15, 0.2, 0.2, 0.35])
    expenses = np.clip(rng.normal(56, 19, rows), 35, 180).round()
    income = np.clip(rng.lognormal(4.9, 0.45, rows), 0, 959).round()
    assets = np.where(rng.random(rows) < 0.35, 0, rng.lognormal(8.3, 0.9, rows).round(-2))
    debt = np.where(rng.random(rows) < 0.8, 0, rng.lognormal(6.8, 0.9, rows).round(-1))
    amount = np.clip(rng.normal(1040, 470, rows), 100, 5000).round(-1)
    price = (amount * rng.uniform(1.0, 2.5, rows)).round()

    risk = (  # log-odds of default
        -2.1
        + 2.6 * (records == 2)
        + 1.9 * (job == 2)
        + 0.8 * (job == 3)
        + 1.0 * (home == 1)
        - 0.8 * (home == 2)
        - 0.1 * seniority
        + 3.2 * (amount / price)
        - 0.011 * (income - expenses)
        - 0.00006 * assets
        + 0.00013 * debt
        + 0.016 * (time - 36)
    )
    defaulted = rng.random(rows) < 1 / (1 + np.exp(-risk))

    # Some money amounts are missing, as in the real data.
    for column in (income, assets, debt):
        column[rng.random(rows) < 0.01] = MISSING_AMOUNT

    return pd.DataFrame({
        "Status": np.where(defaulted, DEFAULTED, REPAID),
        "Seniority": seniority, "Home": home, "Time": time, "Age": age, "Marital": marital,
        "Records": records, "Job": job, "Expenses": expenses, "Income": income,
        "Assets": assets, "Debt": debt, "Amount": amount, "Price": price,
    })  # fmt: skip


def read_credit_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV in the CreditScoring.csv layout; a missing column is reported by name."""
    raw = pd.read_csv(path)
    missing = {"status", *FEATURE_COLUMNS} - {column.lower() for column in raw.columns}
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    return raw


def clean(raw: pd.DataFrame) -> tuple[list[dict], np.ndarray]:
    """Map codes to names and missing amounts to 0; drop rows of unknown status.

    Returns the applications as feature dicts (the service's input layout) and the target
    (1 = defaulted).
    """
    df = raw.rename(columns=str.lower)
    df = df[df["status"].isin([REPAID, DEFAULTED])]
    for column, names in CATEGORY_CODES.items():
        df[column] = df[column].map(names).fillna("unk")
    df[NUMERIC_COLUMNS] = df[NUMERIC_COLUMNS].replace(MISSING_AMOUNT, np.nan).fillna(0)
    target = (df["status"] == DEFAULTED).astype(int).to_numpy()
    return df[FEATURE_COLUMNS].to_dict(orient="records"), target
