"""Real records to send the service: the validation rows train.py holds out (same data, same seed)."""

import pandas as pd

from scoring import contract as data_contract
from scoring import data


def validation_rows(seed: int = 42):
    """The rows train.py holds out for validation, checked and typed (a pandas DataFrame)."""
    contract = data_contract.load()
    rows, _ = data.check_rows(data.training_data(contract, seed=seed), contract)
    return data.split(rows, contract, seed)[1]


def validation_positives(seed: int = 42) -> list[bool]:
    """For each validation row, in order, whether it is of the contract's positive class."""
    return [bool(value) for value in data.target_values(validation_rows(seed), data_contract.load())]


def validation_records(limit: int | None = None, seed: int = 42) -> list[dict]:
    """Validation rows as requests carry them: the contract's fields, null where a value is missing."""
    contract = data_contract.load()
    fields = validation_rows(seed)[list(contract.fields)].head(limit)
    records = as_records(fields)
    for name, spec in contract.fields.items():
        if spec.kind == "integer":
            for record in records:
                record[name] = None if record[name] is None else int(record[name])
    return records


def as_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as a request carries them, every digit kept: missing values None, numbers Python's own (pandas'
    to_json rounds to 10 significant digits: 0.221000003815 became 0.2210000038)."""
    return [{name: None if pd.isna(value) else value for name, value in row.items()}
            for row in frame.to_dict(orient="records")]  # fmt: skip
