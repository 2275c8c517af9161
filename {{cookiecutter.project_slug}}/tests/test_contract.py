"""contract.yaml, and the request schema the service builds from it."""

import re
import subprocess
import sys

import pytest
from conftest import CONTRACT, PROJECT_DIR
from pydantic import ValidationError
from records import invalid_variants, valid_variants

from scoring import contract as data_contract
from scoring.contract.__main__ import main as contract_command
from scoring.schema import Record, _request_model, request_model


def test_contract_yaml_is_valid_and_round_trips(tmp_path):
    contract = data_contract.load()
    (tmp_path / "contract.yaml").write_text(data_contract.dump(contract))
    assert data_contract.load(tmp_path / "contract.yaml") == contract


def test_the_request_schema_is_exactly_the_contracts_fields(contract):
    schema = Record.model_json_schema()
    assert list(schema["properties"]) == list(contract["fields"])
    assert set(schema["required"]) == set(contract["fields"])
    assert schema["additionalProperties"] is False
    assert schema["example"] == contract["example"]


VALID = valid_variants(CONTRACT)
INVALID = {name: case for name, case in invalid_variants(CONTRACT).items() if isinstance(case[0], dict)}


@pytest.mark.parametrize("record", VALID.values(), ids=VALID.keys())
def test_records_at_the_edges_of_the_contract_are_valid(record):
    Record.model_validate(record)


@pytest.mark.parametrize(("body", "field"), INVALID.values(), ids=INVALID.keys())
def test_records_breaking_the_contract_are_refused_naming_the_field(body, field):
    with pytest.raises(ValidationError, match=re.escape(field)):
        Record.model_validate(body)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("target: [", "not valid YAML"),
        ("{}", "target: Field required"),
        ("target: {column: y, positive_class: no, negative_class: 'yes'}\nfields: {}\nexample: {}", "quote"),
    ],
)
def test_a_broken_contract_is_reported_in_one_line(tmp_path, text, problem):
    path = tmp_path / "contract.yaml"
    path.write_text(text)
    with pytest.raises(data_contract.ContractError, match=problem) as error:
        data_contract.load(path)
    assert "\n" not in str(error.value)


def test_docs_section_lists_every_field(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{data_contract.README_START}\nold\n{data_contract.README_END}\nrest\n")
    contract = data_contract.load()
    data_contract.write_docs(contract, readme)
    text = readme.read_text()
    assert "old" not in text and text.endswith(f"{data_contract.README_END}\nrest\n")
    assert all(f"| `{name}` |" in text for name in contract.fields)
    assert "curl -X POST" in text


def test_columns_whose_names_clash_as_python_names_each_keep_their_own_field():
    """`loan amount` and `loan-amount` (or `class` and `field_class`) once became one pydantic field: training
    passed, then the service could not start."""
    names = ["loan amount", "loan-amount", "class", "field_class", "field_class_2"]
    spec = {"kind": "integer", "minimum": 0, "maximum": 10}
    contract = data_contract.Contract.model_validate({
        "target": {"column": "y", "positive_class": "yes", "negative_class": "no"},
        "fields": dict.fromkeys(names, spec), "example": {name: number for number, name in enumerate(names)},
    })  # fmt: skip
    model = _request_model(contract)
    assert sorted(field.alias for field in model.model_fields.values()) == sorted(names)
    record = model.model_validate(contract.example)
    assert sorted(record.model_dump(by_alias=True).items()) == sorted(contract.example.items())


def contract_with(spec: dict, example) -> dict:
    return {"target": {"column": "y", "positive_class": "yes", "negative_class": "no"}, "fields": {"x": spec},
            "example": {"x": example}}  # fmt: skip


@pytest.mark.parametrize("bounds", [{"maximum": float("inf")}, {"minimum": float("nan")}, {"minimum": float("-inf")}])
def test_bounds_that_are_no_numbers_are_refused(bounds):
    with pytest.raises(ValidationError, match="finite"):
        data_contract.Contract.model_validate(contract_with({"kind": "integer", **bounds}, 1))


def test_an_example_the_service_would_refuse_is_refused_by_the_contracts_check(tmp_path, monkeypatch):
    """Once passed by `python -m scoring.contract check` and by training, then `bentoml serve` stopped."""
    contract = data_contract.Contract.model_validate(contract_with({"kind": "integer", "maximum": 10}, 11))
    with pytest.raises(data_contract.ContractError, match="example: x: Input should be less than or equal to 10"):
        request_model(contract)
    (tmp_path / "contract.yaml").write_text(data_contract.dump(contract))
    monkeypatch.setattr(data_contract, "CONTRACT_PATH", tmp_path / "contract.yaml")
    monkeypatch.setattr(data_contract.load, "__defaults__", (tmp_path / "contract.yaml",))
    assert contract_command(["check"]) == 2


def test_the_command_line_refuses_in_one_line(tmp_path):
    """Run with -m, the module was __main__ and its ContractError not the one scoring.inference raised: a traceback."""
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    command = [sys.executable, "-m", "scoring.contract", "infer", str(tmp_path / "data.csv"), "--target", "zz",
               "--positive", "yes"]  # fmt: skip
    result = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr == "error: data.csv: no column 'zz' (its columns: a, b)\n"


def test_a_refused_file_that_is_no_csv_is_not_echoed(tmp_path):
    """A password file given as data had its first line printed as the file's "columns"."""
    (tmp_path / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/bin/sh\n")
    command = [sys.executable, "-m", "scoring.contract", "infer", str(tmp_path / "passwd"), "--target", "zz",
               "--positive", "yes"]  # fmt: skip
    result = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True)
    assert result.returncode == 2 and "root:" not in result.stderr + result.stdout
    assert result.stderr == "error: passwd: no column 'zz' (its first line is no header of named columns)\n"
