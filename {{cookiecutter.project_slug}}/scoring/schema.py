"""Request and response bodies of the service, built from the data contract and validated by pydantic.

Each contract field becomes a required request field: integers and numbers within their bounds
(strict JSON types: "26" or true is no number), categories as the listed strings, booleans as
true/false or the data's own words; null only where the contract allows missing values.

An integer may be written 26.0: JSON Schema, so the OpenAPI document, counts it as an integer, and
clients that only have floating-point numbers write it so. 26.5 is refused.
"""

import keyword
import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, ValidationError, create_model

from scoring import contract as data_contract

MAX_BATCH_SIZE = 1000  # records in one batch request
MAX_BODY_BYTES = 1024 * 1024  # a full batch of a dozen fields is about 250 kB

CONTRACT = data_contract.load()


def _annotation(spec: data_contract.FieldSpec) -> Any:
    if spec.kind == "category":
        annotation = Literal[tuple(spec.categories)]
    elif spec.kind == "boolean":
        annotation = StrictBool | Literal[spec.true_value, spec.false_value]
    else:
        bounds = Field(ge=spec.minimum, le=spec.maximum, allow_inf_nan=False)
        if spec.kind == "integer":
            annotation = Annotated[int, bounds, BeforeValidator(_whole)]  # in this order, bounds reach the schema
        else:
            annotation = Annotated[float, bounds]
    return annotation | None if spec.nullable else annotation


def _whole(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _python_names(names: list[str]) -> Iterator[str]:
    """Each name where it can be a pydantic field name, else a safe stand-in (the JSON key stays the name),
    made unique: `loan amount` and `loan-amount`, or `class` and `field_class`, would share one."""
    taken: set[str] = set()
    for name in names:
        usable = name.isidentifier() and not keyword.iskeyword(name) and not name.startswith(("_", "model_"))
        candidate = base = name if usable and name not in dir(BaseModel) else "field_" + re.sub(r"\W", "_", name)
        number = 2
        while candidate in taken or (candidate != name and candidate in names):
            candidate, number = f"{base}_{number}", number + 1
        taken.add(candidate)
        yield candidate


def request_model(contract: data_contract.Contract) -> type[BaseModel]:
    """The service's request model for `contract`, which must take the contract's own example: the one check that
    the service can serve a contract, for `python -m scoring.contract check`, training and serving alike.
    ContractError naming the entry otherwise."""
    model = _request_model(contract)
    try:
        model.model_validate(contract.example)
    except ValidationError as error:
        problem = error.errors()[0]
        where = f"{data_contract.CONTRACT_PATH}: example: {'.'.join(map(str, problem['loc']))}"
        raise data_contract.ContractError(f"{where}: {problem['msg']}") from None
    return model


def _request_model(contract: data_contract.Contract) -> type[BaseModel]:
    names = list(contract.fields)
    fields = {
        python: (_annotation(spec), Field(alias=name, description=spec.description or None))
        for python, (name, spec) in zip(_python_names(names), contract.fields.items(), strict=True)
    }
    config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"example": contract.example})
    return create_model("Record", __config__=config, __doc__=contract.description or "One record.", **fields)


Record = request_model(CONTRACT)


class Batch(BaseModel):
    """Several records, decided on in one model call."""

    model_config = ConfigDict(extra="forbid")

    records: list[Record] = Field(min_length=1, max_length=MAX_BATCH_SIZE)


# The service receives a record's fields under their Python names; the model wants the data's names.
ALIASES = {field.alias: python for python, field in Record.model_fields.items() if field.alias != python}


def as_record(fields: dict[str, Any]) -> dict[str, Any]:
    """A validated request's fields (as the API method receives them) keyed by the contract's names."""
    if not ALIASES:
        return fields
    return {name: fields[ALIASES.get(name, name)] for name in CONTRACT.fields}


def read_record(body: bytes) -> list[dict[str, Any]]:
    """A /classify body (JSON) as its one record, validated (ValidationError names each problem)."""
    return [as_record(Record.model_validate_json(body).__dict__)]


def read_batch(body: bytes) -> list[dict[str, Any]]:
    """A /classify_batch body (JSON) as its records, validated."""
    return [as_record(record.__dict__) for record in Batch.model_validate_json(body).records]


_POSITIVE = f"{CONTRACT.target.column} is {CONTRACT.target.positive_class}"


class Reason(BaseModel):
    """A field that pushed the probability up: a principal reason for the decision."""

    field: Literal[tuple(CONTRACT.fields)] = Field(description="The request's field")
    contribution: float = Field(gt=0, description="How far it raised the log-odds that " + _POSITIVE)
    text: str = Field(description="The reason as an applicant reads it (contract.yaml)")


class Decision(BaseModel):
    """The outcome for one record."""

    status: str = Field(description="Decision label derived from the probability")
    probability: float = Field(ge=0, le=1, description=f"Predicted probability that {_POSITIVE}")
    model: str = Field(description="Tag of the model that produced the probability")
    decision_id: str = Field(description="Unique, time-ordered id (UUIDv7), also in the decision log")
    reasons: list[Reason] = Field(description="Principal reasons, largest first; empty for an approval")
