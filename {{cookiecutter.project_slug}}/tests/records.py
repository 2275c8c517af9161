"""Valid and invalid records made from a data contract (contract.yaml as a dict), for any data set.

Plain Python on purpose: it reads contract.yaml as any client would, whatever the data.
"""

import json
from typing import Any

UNEXPECTED = "__not_in_the_contract__"


def contract_example(contract: dict) -> dict[str, Any]:
    return dict(contract["example"])


def valid_variants(contract: dict) -> dict[str, dict]:
    """The example with one field at a time set to an edge of what it allows."""
    example, variants = contract_example(contract), {}
    for name, spec in contract["fields"].items():
        for label, value in _allowed_values(spec).items():
            variants[f"{name} {label}"] = {**example, name: value}
    return variants


def invalid_variants(contract: dict) -> dict[str, tuple[dict | str, str]]:
    """name -> (request body, text the 400 answer must contain): each breaks one rule of the contract."""
    example, variants = contract_example(contract), {}
    for name, spec in contract["fields"].items():
        without = {key: value for key, value in example.items() if key != name}
        variants[f"{name} missing"] = (without, name)
        if not spec.get("nullable"):
            variants[f"{name} null"] = ({**example, name: None}, name)
        for label, value in _refused_values(spec).items():
            variants[f"{name} {label}"] = ({**example, name: value}, name)
    variants["unknown field"] = ({**example, UNEXPECTED: 1}, UNEXPECTED)
    first_number = next((name for name, spec in contract["fields"].items() if spec["kind"] == "number"), None)
    if first_number:
        text = json.dumps({**example, first_number: 0.5})
        variants["NaN"] = (text.replace(f'"{first_number}": 0.5', f'"{first_number}": NaN'), first_number)
        variants["Infinity"] = (text.replace(f'"{first_number}": 0.5', f'"{first_number}": Infinity'), first_number)
    return variants


def _allowed_values(spec: dict) -> dict[str, Any]:
    if spec["kind"] == "category":
        allowed = {f"= {value}": value for value in spec["categories"]}
    elif spec["kind"] == "boolean":
        allowed = {"true": True, "false": False, "as written in the data": spec["true_value"]}
    else:
        cast = int if spec["kind"] == "integer" else float
        allowed = {f"at {bound}": cast(spec[bound]) for bound in ("minimum", "maximum") if spec.get(bound) is not None}
        if spec["kind"] == "integer" and spec.get("minimum") is not None:
            allowed["written as a float"] = float(spec["minimum"])  # 26.0 is an integer in JSON Schema
    return {**allowed, "null": None} if spec.get("nullable") else allowed


def _refused_values(spec: dict) -> dict[str, Any]:
    if spec["kind"] == "category":
        return {"unseen category": UNEXPECTED, "number for a category": 7}
    if spec["kind"] == "boolean":
        return {"neither true nor false": UNEXPECTED, "1 for a boolean": 1}
    refused: dict[str, Any] = {"text for a number": "12", "padded text": " 12 ", "boolean for a number": True}
    if spec["kind"] == "integer":
        refused["fraction for an integer"] = 1.5
    if spec.get("minimum") is not None:
        refused["below minimum"] = spec["minimum"] - max(1, abs(spec["minimum"]))
    if spec.get("maximum") is not None:
        refused["above maximum"] = spec["maximum"] + max(1, abs(spec["maximum"]))
    return refused
