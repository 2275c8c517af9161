"""The public CreditScoring.csv, in its own layout, read into contract.yaml's.

The classic credit-scoring data set (4,455 loan applications) names its columns with capitals, codes its
categories as numbers, writes 99999999 for an income, assets or debt not declared, and has a few rows of
Status 0 (unknown), which are no example of either class. `python train.py --data CreditScoring.csv`
reads the file (scoring/data.py) and hands it here; a file in contract.yaml's own layout is read as any other.
"""

import sys

import pandas as pd

COLUMNS = ["Status", "Seniority", "Home", "Time", "Age", "Marital", "Records", "Job", "Expenses", "Income",
           "Assets", "Debt", "Amount", "Price"]  # fmt: skip
CODES = {
    "Status": {1: "repaid", 2: "defaulted"},
    "Home": {1: "rent", 2: "owner", 3: "private", 4: "ignore", 5: "parents", 6: "other", 0: "unk"},
    "Marital": {1: "single", 2: "married", 3: "widow", 4: "separated", 5: "divorced", 0: "unk"},
    "Records": {1: "no", 2: "yes", 0: "unk"},
    "Job": {1: "fixed", 2: "partime", 3: "freelance", 4: "others", 0: "unk"},
}
NOT_DECLARED = 99999999  # Income, Assets, Debt


def in_contract_layout(frame: pd.DataFrame) -> pd.DataFrame | None:
    """The rows of the public data set, as read from its CSV, in contract.yaml's layout; None if `frame` is
    not in its layout (then the file is read as the contract's own)."""
    if list(frame.columns) != COLUMNS:
        return None
    unknown = frame["Status"] == 0
    if unknown.any():
        print(f"note: left out {unknown.sum()} of {len(frame):,} rows, of Status 0 (unknown: neither repaid nor "
              "defaulted)", file=sys.stderr)  # fmt: skip
    frame = frame[~unknown].copy()
    for column in ("Income", "Assets", "Debt"):
        frame[column] = frame[column].where(frame[column] != NOT_DECLARED)
    for column, codes in CODES.items():
        frame[column] = frame[column].map(codes).astype("string")  # an unknown code: missing, then refused
    return frame.rename(columns=str.lower)
