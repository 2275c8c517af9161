"""Data files against the contract: reading them, and every row checked (pandera) with its reasons."""

import re

import numpy as np
import pandas as pd
import pytest

from scoring import data
from scoring.contract import Contract, load

CONTRACT = Contract.model_validate({
    "target": {"column": "y", "positive_class": "yes", "negative_class": "no"},
    "fields": {
        "age": {"kind": "integer", "minimum": 0, "maximum": 120},
        "income": {"kind": "number", "minimum": 0, "maximum": 1000, "nullable": True},
        "plan": {"kind": "category", "categories": ["basic", "pro"]},
        "paperless": {"kind": "boolean", "true_value": "Yes", "false_value": "No"},
    },
    "example": {"age": 30, "income": 10.5, "plan": "basic", "paperless": "Yes"},
})  # fmt: skip


def frame(**changes) -> pd.DataFrame:
    rows = pd.DataFrame({"age": [30, 40, 50], "income": [1.5, None, 3.0], "plan": ["basic", "pro", "basic"],
                         "paperless": ["Yes", "No", "Yes"], "y": ["yes", "no", "no"]})  # fmt: skip
    for column, values in changes.items():
        rows[column] = values
    return rows


def test_good_rows_pass_typed():
    rows, rejected = data.check_rows(frame(), CONTRACT)
    assert len(rows) == 3 and rejected.empty
    assert rows["age"].dtype == "float64" and np.isnan(rows["income"].iloc[1])


@pytest.mark.parametrize(
    ("column", "values", "reason"),
    [
        ("age", [30, 300, 50], "age: 300.0 outside 0 to 120"),
        ("age", [30, 40.5, 50], "age: 40.5 not a whole number"),
        ("age", ["30", "old", "50"], "age: 'old' is not a number"),
        ("age", [30, None, 50], "age: missing"),
        ("income", [1.5, -2, 3.0], "income: -2.0 outside 0 to 1000"),
        ("income", [1.5, np.inf, 3.0], "income: inf outside 0 to 1000"),
        ("plan", ["basic", "gold", "basic"], "plan: 'gold' not an allowed category"),
        ("paperless", ["Yes", "maybe", "Yes"], "paperless: 'maybe' not Yes or No"),
        ("y", ["yes", "perhaps", "no"], "y: 'perhaps' not a target class (yes or no)"),
    ],
)
def test_each_broken_rule_rejects_its_row_with_the_reason(column, values, reason):
    rows, rejected = data.check_rows(frame(**{column: values}), CONTRACT)
    assert list(rows.index) == [0, 2]
    assert rejected.to_dict() == {1: reason}


def test_all_reasons_of_a_row_are_given():
    _, rejected = data.check_rows(frame(age=[30, -1, 50], plan=["basic", "gold", "basic"]), CONTRACT)
    assert rejected[1] == "age: -1.0 outside 0 to 120; plan: 'gold' not an allowed category"


def test_booleans_stored_as_booleans_are_read_as_the_contracts_words():
    rows, rejected = data.check_rows(frame(paperless=[True, False, True]), CONTRACT)
    assert rejected.empty and list(rows["paperless"]) == ["Yes", "No", "Yes"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("", "empty file"),
        ("age,income,plan,paperless,y\n", "no rows, only a header"),
        ("age,age,plan,paperless,y\n1,2,basic,Yes,no\n", "named twice: age"),
        ("age,plan,paperless,y\n1,basic,Yes,no\n", "missing column(s) income"),
        (b"age\xff,income\n", "not UTF-8 text"),
        ("age,income,plan,paperless,y\n1,inf,basic,Yes,no\n", "column 'income' has a number beyond ±3.4e+38, or"),
        ("age,income,plan,paperless,y\n1,1e307,basic,Yes,no\n", "column 'income' has a number beyond"),  # float32
        ("a" * 1_000_000, "not a readable CSV (field larger than field limit"),  # one endless line
        (b"\0" * 100_000, "not a CSV (it holds NUL bytes)"),  # a disk image, a sparse file
    ],
)
def test_unreadable_files_are_refused_in_one_line(tmp_path, content, message):
    path = tmp_path / "data.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(data.DataError, match=re.escape(message)) as error:
        data.read_for_contract(path, CONTRACT)
    assert "\n" not in str(error.value)


def test_a_number_the_models_cannot_take_is_refused_only_in_a_column_they_read(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("age,income,plan,paperless,y,notes\n1,2,basic,Yes,no,1e308\n")
    assert list(data.read_for_contract(path, CONTRACT).columns) == CONTRACT.columns


def test_a_large_sparse_file_is_refused_at_once(tmp_path):
    path = tmp_path / "data.csv"
    with path.open("wb") as file:
        file.truncate(2 * 2**30)  # 2 GiB of NUL bytes, none of them on disk
    with pytest.raises(data.DataError, match="NUL bytes"):
        data.read_csv(path)


def test_a_directory_is_not_a_data_file(tmp_path):
    with pytest.raises(data.DataError, match="not a file"):
        data.read_csv(tmp_path)


def test_the_training_data_keeps_the_contract_and_splits_both_classes():
    contract = load()
    rows, rejected = data.check_rows(data.training_data(contract), contract)
    assert rejected.empty
    train, validation = data.split(rows, contract, seed=42)
    assert len(validation) == pytest.approx(len(rows) / 5, abs=1)
    for part in (train, validation):
        assert set(data.target_values(part, contract)) == {0, 1}
