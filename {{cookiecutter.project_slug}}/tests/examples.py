"""Real records to send the service: the validation rows train.py holds out (same data, same seed)."""

import json

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
    records = json.loads(fields.to_json(orient="records"))  # pandas' JSON: NaN -> null, numpy -> plain types
    for name, spec in contract.fields.items():
        if spec.kind == "integer":
            for record in records:
                record[name] = None if record[name] is None else int(record[name])
    return records
