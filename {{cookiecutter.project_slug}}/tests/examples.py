"""Real records to send the service: the validation rows train.py holds out (same data, same seed)."""

import json

from scoring import contract as data_contract
from scoring import data


def validation_records(limit: int | None = None, seed: int = 42) -> list[dict]:
    """Validation rows as requests carry them: the contract's fields, null where a value is missing."""
    contract = data_contract.load()
    rows, _ = data.check_rows(data.training_data(contract, seed=seed), contract)
    _, validation = data.split(rows, contract, seed)
    fields = validation[list(contract.fields)].head(limit)
    records = json.loads(fields.to_json(orient="records"))  # pandas' JSON: NaN -> null, numpy -> plain types
    for name, spec in contract.fields.items():
        if spec.kind == "integer":
            for record in records:
                record[name] = None if record[name] is None else int(record[name])
    return records
