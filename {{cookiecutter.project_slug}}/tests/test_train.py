"""train.py refuses what it cannot learn from: one line on stderr, exit code 2, and no model saved."""

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import PROJECT_DIR

from scoring import data
from scoring.contract import load

CONTRACT = load()
FIELDS = CONTRACT.fields
TARGET = CONTRACT.target


def first(*kinds: str) -> str | None:
    return next((name for name, spec in FIELDS.items() if spec.kind in kinds), None)


def train(tmp_path, *arguments: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml_home")}
    command = [sys.executable, "train.py", "--no-promote", *arguments]
    return subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300)


def assert_refused(result: subprocess.CompletedProcess, tmp_path, *words: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert all(word in lines[0] for word in words), lines[0]
    models = tmp_path / "bentoml_home" / "models"
    assert not models.exists() or not any(models.iterdir()), "nothing is saved"


def broken_data(change: str):
    """The project's own training data, with one thing wrong."""
    frame = data.training_data(CONTRACT).reset_index(drop=True)
    number, category, strict = first("integer", "number"), first("category"), next(
        (name for name, spec in FIELDS.items() if not spec.nullable), None)  # fmt: skip
    if change == "one class":
        frame[TARGET.column] = TARGET.negative_class
    elif change == "ten rows":
        frame = frame.head(10)
    elif change == "text in a number" and number:
        frame[number] = frame[number].astype(object)
        frame.loc[3, number] = "abc"
    elif change == "out of bounds" and number and FIELDS[number].maximum is not None:
        frame.loc[3, number] = FIELDS[number].maximum * 10 + 1
    elif change == "unknown category" and category:
        frame[category] = frame[category].astype(object)
        frame.loc[3, category] = "__unseen__"
    elif change == "missing where not allowed" and strict:
        frame[strict] = frame[strict].astype(object)
        frame.loc[3, strict] = np.nan
    elif change == "random target":
        frame[TARGET.column] = np.random.default_rng(0).permutation(frame[TARGET.column].to_numpy())
    else:
        pytest.skip(f"no field of this contract can be broken this way: {change}")
    return frame, {"text in a number": number, "out of bounds": number, "unknown category": category,
                   "missing where not allowed": strict}.get(change)  # fmt: skip


@pytest.mark.parametrize(
    "change", ["text in a number", "out of bounds", "unknown category", "missing where not allowed"]
)
def test_rows_breaking_the_contract_are_refused_naming_the_field(tmp_path, change):
    frame, field = broken_data(change)
    frame.to_csv(tmp_path / "data.csv", index=False)
    assert_refused(train(tmp_path, "--data", str(tmp_path / "data.csv")), tmp_path, "row 3", field, "--drop-invalid")


def test_dropping_invalid_rows_is_a_choice(tmp_path):
    frame, _ = broken_data("out of bounds")
    frame.to_csv(tmp_path / "data.csv", index=False)
    result = train(tmp_path, "--data", str(tmp_path / "data.csv"), "--drop-invalid")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("change", "words"), [("one class", ["only 0 rows of"]), ("ten rows", ["at least 10"])])
def test_data_too_poor_to_learn_from_is_refused(tmp_path, change, words):
    frame, _ = broken_data(change)
    frame.to_csv(tmp_path / "data.csv", index=False)
    assert_refused(train(tmp_path, "--data", str(tmp_path / "data.csv")), tmp_path, *words)


def test_a_model_below_the_quality_floor_is_not_saved_unless_forced(tmp_path):
    frame, _ = broken_data("random target")
    frame.to_csv(tmp_path / "data.csv", index=False)
    assert_refused(train(tmp_path, "--data", str(tmp_path / "data.csv")), tmp_path, "below the quality floor 0.6")
    assert train(tmp_path, "--data", str(tmp_path / "data.csv"), "--force").returncode == 0


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, ["no such file"]),
        ("", ["empty file"]),
        (",".join(CONTRACT.columns) + "\n", ["no rows, only a header"]),
        (",".join([*CONTRACT.columns, CONTRACT.columns[0]]) + "\n1\n", ["named twice", CONTRACT.columns[0]]),
        (",".join(CONTRACT.columns[1:]) + "\n1\n", ["missing column", CONTRACT.columns[0]]),
    ],
    ids=["missing file", "empty file", "header only", "duplicate column", "missing column"],
)
def test_unreadable_files_are_refused(tmp_path, content, words):
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_text(content)
    assert_refused(train(tmp_path, "--data", str(path)), tmp_path, *words)


def test_a_directory_is_refused(tmp_path):
    assert_refused(train(tmp_path, "--data", str(tmp_path)), tmp_path, "not a file")


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["--rows", "0"], ["--rows", "not between"]),
        (["--rows", "-5"], ["--rows"]),
        (["--rows", "1"], ["--rows"]),
        (["--rows", str(10**12)], ["--rows"]),
        (["--seed", "-1"], ["--seed"]),
        (["--model-name", "Bad Name"], ["--model-name", "not a BentoML name"]),
        (["--min-auc", "2"], ["--min-auc"]),
    ],
)
def test_bad_arguments_are_refused(tmp_path, arguments, words):
    assert_refused(train(tmp_path, *arguments), tmp_path, *words)
