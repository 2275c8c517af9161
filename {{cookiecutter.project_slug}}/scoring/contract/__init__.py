"""The data contract: contract.yaml, the one description of the fields a record carries.

Training (cleaning, encoding, refusing rows that break it), the service's request schema, batch
scoring and the tests are all derived from it. Edit it by hand (descriptions, bounds, categories)
and retrain; or infer a new one from a CSV:

    python -m scoring.contract infer data.csv --target deny --positive yes \\
        [--exclude id,name] [--protected age,sex] > contract.yaml
    python -m scoring.contract docs      # refresh the field table and curl example in README.md

The command line is scoring/contract/__main__.py, a layer above: it infers with pandas and pandera and checks
with the service's own request model, which this module, read by everything, does without.
"""

import json
import math
import textwrap
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PROJECT_DIR = Path(__file__).resolve().parents[2]
CONTRACT_PATH = PROJECT_DIR / "contract.yaml"
README_PATH = PROJECT_DIR / "README.md"

Kind = Literal["integer", "number", "category", "boolean"]


class ContractError(ValueError):
    """contract.yaml (or the data it is inferred from) cannot be used; the message is one line."""


class FieldSpec(BaseModel):
    """One input field: its kind and what values it allows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind
    description: str = ""
    nullable: bool = Field(False, description="null (a missing value) is allowed")
    minimum: int | float | None = Field(None, description="integer and number: smallest value allowed")
    maximum: int | float | None = Field(None, description="integer and number: largest value allowed")
    categories: list[str] | None = Field(None, description="category: the values allowed")
    true_value: str | None = Field(None, description="boolean: how the data writes true (e.g. yes)")
    false_value: str | None = Field(None, description="boolean: how the data writes false (e.g. no)")
    reason: str = Field("", description="the principal reason's text when this field drives a decline")

    @model_validator(mode="after")
    def _consistent(self) -> "FieldSpec":
        numeric = self.kind in ("integer", "number")
        if not numeric and (self.minimum is not None or self.maximum is not None):
            raise ValueError(f"minimum/maximum apply to integer and number fields, not {self.kind}")
        if not all(math.isfinite(bound) for bound in (self.minimum, self.maximum) if bound is not None):
            raise ValueError("minimum and maximum must be finite numbers (leave one out for no bound)")
        if numeric and None not in (self.minimum, self.maximum) and self.minimum > self.maximum:
            raise ValueError(f"minimum {self.minimum} is above maximum {self.maximum}")
        if (self.kind == "category") != (self.categories is not None):
            raise ValueError("a category field needs categories, and only a category field has them")
        if self.categories is not None and (not self.categories or len(set(self.categories)) < len(self.categories)):
            raise ValueError("categories must be a non-empty list of distinct values")
        tokens = (self.true_value, self.false_value)
        if (self.kind == "boolean") != (None not in tokens) or (self.kind == "boolean" and tokens[0] == tokens[1]):
            raise ValueError("a boolean field needs two different true_value and false_value, and only it has them")
        return self


class Target(BaseModel):
    """The column the model predicts, and the class whose probability the thresholds act on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str
    positive_class: str
    negative_class: str

    @model_validator(mode="after")
    def _two_classes(self) -> "Target":
        if self.positive_class == self.negative_class:
            raise ValueError("positive_class and negative_class must differ")
        return self


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    target: Target
    fields: dict[str, FieldSpec] = Field(min_length=1)
    excluded: dict[str, str] = Field({}, description="columns of the data that are not inputs, and why")
    protected: list[str] = Field([], description="columns the model card reports on by group (age, sex...)")
    example: dict[str, Any] = Field(description="a real, typical record: the API documentation's example")

    @model_validator(mode="after")
    def _consistent(self) -> "Contract":
        if self.target.column in self.fields:
            raise ValueError(f"the target column {self.target.column!r} cannot also be an input field")
        if both := sorted(self.fields.keys() & self.excluded.keys()):
            raise ValueError(f"{', '.join(both)}: listed both as a field and as excluded")
        if self.example.keys() != self.fields.keys():
            raise ValueError("example must have exactly one value for each field")
        if self.target.column in self.protected or len(set(self.protected)) < len(self.protected):
            raise ValueError("protected must list distinct columns other than the target")
        return self

    def signature(self) -> dict:
        """What a trained model depends on: the target and the fields' rules (not the texts or the example)."""
        texts = {"description", "reason"}
        fields = {name: spec.model_dump(exclude=texts) for name, spec in self.fields.items()}
        return {"target": self.target.model_dump(), "fields": fields}

    def reason_text(self, name: str) -> str:
        """The text an applicant reads when field `name` is a principal reason for the decision."""
        return self.fields[name].reason or f"Value of {name}"

    @property
    def protected_inputs(self) -> list[str]:
        """Protected columns that the model takes as inputs: the model card flags them."""
        return [name for name in self.protected if name in self.fields]

    @property
    def columns(self) -> list[str]:
        """The columns training data must have: the fields, the target, then the protected columns that are
        not inputs (the model card reports on their groups)."""
        return [*self.fields, self.target.column, *(name for name in self.protected if name not in self.fields)]


def load(path: Path = CONTRACT_PATH) -> Contract:
    """Read and check a contract file; any problem is a ContractError naming the file and the entry."""
    try:
        return Contract.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
    except OSError as error:
        raise ContractError(f"{path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ContractError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(map(str, problem["loc"])) or "top level"
        hint = " (quote yes/no/true/false values)" if isinstance(problem.get("input"), bool) else ""
        raise ContractError(f"{path}: {where}: {problem['msg']}{hint}") from None


def dump(contract: Contract) -> str:
    """contract.yaml's text: a comment saying what it is, then the contract without its empty entries."""
    data = contract.model_dump(exclude_defaults=True)
    data["fields"] = {name: spec.model_dump(exclude_defaults=True) for name, spec in contract.fields.items()}
    comment = "".join(f"# {line}\n" for line in HEADER.strip().splitlines())
    return comment + yaml.dump(data, Dumper=_ContractDumper, sort_keys=False, allow_unicode=True, width=100)


class _ContractDumper(yaml.SafeDumper):
    """Mappings one entry a line, lists of values on one line: `categories: [no, yes]`."""

    def represent_list(self, data: list) -> yaml.Node:
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_ContractDumper.add_representer(list, _ContractDumper.represent_list)


HEADER = """
The data contract: the one description of the fields a record carries. Training, the service's
request schema, batch scoring and the tests all read it. Edit it by hand (descriptions, bounds,
categories), then retrain (python train.py) and refresh the README (python -m scoring.contract docs).
A field's `reason:` is the text a declined applicant reads when it is a principal reason (no retraining);
`protected:` lists the columns the model card reports on by group.
"""

# -- documentation ---------------------------------------------------------------------------------------

README_START, README_END = "<!-- contract:start -->", "<!-- contract:end -->"


def markdown(contract: Contract) -> str:
    """The README's description of the fields: a table, and a curl example with the example record."""
    rows = [_markdown_row(name, spec) for name, spec in contract.fields.items()]
    target = contract.target
    excluded = "".join(f"\n- `{column}`: {why}" for column, why in contract.excluded.items())
    body = json.dumps(contract.example, ensure_ascii=False)
    return "\n".join([
        f"The service predicts the probability that `{target.column}` is `{target.positive_class}`"
        f" (the other class: `{target.negative_class}`). A record has these fields (`contract.yaml`):",
        "",
        "| field | kind | allowed values | may be null | description |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        *([f"\nColumns of the data that are not inputs:{excluded}"] if excluded else []),
        "",
        "```bash",
        "curl -X POST http://localhost:3000/classify -H 'content-type: application/json' -d '",
        *textwrap.wrap(_shell_quoted(body), width=100, break_long_words=False, break_on_hyphens=False),
        "'",
        "```",
    ])  # fmt: skip


def _markdown_row(name: str, spec: FieldSpec) -> str:
    if spec.kind == "category":
        allowed = ", ".join(f"`{value}`" for value in spec.categories)
    elif spec.kind == "boolean":
        allowed = f"`true`/`false` or `{spec.true_value}`/`{spec.false_value}`"
    else:
        allowed = f"{_number(spec.minimum)} to {_number(spec.maximum)}"
    cells = [f"`{name}`", spec.kind, allowed, "yes" if spec.nullable else "no", spec.description]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _number(value: float | None) -> str:
    if value is None:
        return "any"
    return f"{int(value):,}" if value == int(value) else f"{value:g}"


def _shell_quoted(text: str) -> str:
    return text.replace("'", "'\\''")


def write_docs(contract: Contract, readme: Path = README_PATH) -> None:
    """Replace the README's section between the contract markers with the current description."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(README_START) + len(README_START), text.index(README_END)
    readme.write_text(f"{text[:start]}\n{markdown(contract)}\n{text[end:]}", encoding="utf-8")
