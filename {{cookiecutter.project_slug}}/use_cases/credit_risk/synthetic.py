"""Synthetic loan applications for the credit-risk use case, in contract.yaml's layout.

Deterministic for a seed, shaped like the public CreditScoring data set, with defaults driven by
known risk factors (past-due records, part-time jobs, renting, a loan close to the price...), so a
model trained on it learns something real without any data being downloaded.
"""

import numpy as np
import pandas as pd


def sample(rows: int = 5000, seed: int = 42) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def choice(values: list[str], weights: list[float]) -> np.ndarray:
        return rng.choice(values, size=rows, p=weights)

    home = choice(["rent", "owner", "private", "ignore", "parents", "other", "unk"],
                  [0.22, 0.48, 0.05, 0.01, 0.17, 0.065, 0.005])  # fmt: skip
    marital = choice(["single", "married", "widow", "separated", "divorced", "unk"],
                     [0.22, 0.73, 0.01, 0.03, 0.01, 0.0])  # fmt: skip
    records = choice(["no", "yes", "unk"], [0.83, 0.17, 0.0])
    job = choice(["fixed", "partime", "freelance", "others", "unk"], [0.63, 0.10, 0.23, 0.04, 0.0])
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
        + 2.6 * (records == "yes")
        + 1.9 * (job == "partime")
        + 0.8 * (job == "freelance")
        + 1.0 * (home == "rent")
        - 0.8 * (home == "owner")
        - 0.1 * seniority
        + 3.2 * (amount / price)
        - 0.011 * (income - expenses)
        - 0.00006 * assets
        + 0.00013 * debt
        + 0.016 * (time - 36)
    )
    defaulted = rng.random(rows) < 1 / (1 + np.exp(-risk))

    # Some clients do not declare every amount, as in the real data.
    for column in (income, assets, debt):
        column[rng.random(rows) < 0.01] = np.nan

    return pd.DataFrame({
        "seniority": seniority, "home": home, "time": time, "age": age, "marital": marital,
        "records": records, "job": job, "expenses": expenses, "income": income,
        "assets": assets, "debt": debt, "amount": amount, "price": price,
        "status": np.where(defaulted, "defaulted", "repaid"),
    })  # fmt: skip
