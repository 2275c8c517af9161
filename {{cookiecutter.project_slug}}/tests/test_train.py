"""train.py refuses what it cannot learn from: one line on stderr, exit code 2, and no model saved.

Most refusals run train.py's main() in this process: as a process each, the imports alone (BentoML, pandas,
pandera) took 4 s, 20 times in every project's suite. The command line itself is checked once, and where
training succeeds (it saves a model) it runs as a process with a model store of its own.
"""

import os
import resource
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
from conftest import PROJECT_DIR

import train as train_script
from scoring import data, model_store
from scoring.contract import load

CONTRACT = load()
FIELDS = CONTRACT.fields
TARGET = CONTRACT.target


def first(*kinds: str) -> str | None:
    return next((name for name, spec in FIELDS.items() if spec.kind in kinds), None)


def train(tmp_path, *arguments: str) -> subprocess.CompletedProcess:
    """`python train.py`, as a user runs it, saving into a model store under tmp_path."""
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml_home")}
    command = [sys.executable, "train.py", "--no-promote", *arguments]
    return subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300)


def refusal(capsys, monkeypatch, *arguments: str) -> str:
    """The one line train.py's main() refuses `arguments` with, run in this process: exit code 2 checked,
    and the model store never reached (saving fails the test)."""

    def save(*_, **__):
        raise AssertionError("a refused training must save nothing")

    monkeypatch.setattr(model_store, "save", save)
    try:
        code = train_script.main(["--no-promote", *arguments])
    except SystemExit as exit_:  # argparse's errors
        code = exit_.code
    return refusal_line(code, capsys.readouterr().err)


def refusal_line(exit_code: int, stderr: str) -> str:
    """The one `error: ` line a refusal prints (warnings aside), exit code 2 checked."""
    lines = [line for line in stderr.splitlines() if not line.startswith("warning:")]
    assert exit_code == 2, stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def assert_refused(line: str, *words: str) -> None:
    assert all(word in line for word in words), line


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


def test_the_command_line_refuses_in_one_line_with_exit_code_2_and_saves_nothing(tmp_path):
    frame, _ = broken_data("one class")
    frame.to_csv(tmp_path / "data.csv", index=False)
    result = train(tmp_path, "--data", str(tmp_path / "data.csv"))
    assert_refused(refusal_line(result.returncode, result.stderr), "only 0 rows of")
    models = tmp_path / "bentoml_home" / "models"
    assert not models.exists() or not any(models.iterdir()), "nothing is saved"


@pytest.mark.parametrize(
    "change", ["text in a number", "out of bounds", "unknown category", "missing where not allowed"]
)
def test_rows_breaking_the_contract_are_refused_naming_the_field(tmp_path, capsys, monkeypatch, change):
    frame, field = broken_data(change)
    frame.to_csv(tmp_path / "data.csv", index=False)
    assert_refused(refusal(capsys, monkeypatch, "--data", str(tmp_path / "data.csv")), "row 3", field, "--drop-invalid")


def test_dropping_invalid_rows_is_a_choice(tmp_path):
    frame, _ = broken_data("out of bounds")
    frame.to_csv(tmp_path / "data.csv", index=False)
    result = train(tmp_path, "--data", str(tmp_path / "data.csv"), "--drop-invalid")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("change", "words"), [("one class", ["only 0 rows of"]), ("ten rows", ["at least 10"])])
def test_data_too_poor_to_learn_from_is_refused(tmp_path, capsys, monkeypatch, change, words):
    frame, _ = broken_data(change)
    frame.to_csv(tmp_path / "data.csv", index=False)
    assert_refused(refusal(capsys, monkeypatch, "--data", str(tmp_path / "data.csv")), *words)


def test_a_model_below_the_quality_floor_is_not_saved_unless_forced(tmp_path, capsys, monkeypatch):
    frame, _ = broken_data("random target")
    frame.to_csv(tmp_path / "data.csv", index=False)
    refused = refusal(capsys, monkeypatch, "--data", str(tmp_path / "data.csv"))
    assert_refused(refused, "below the quality floor 0.6")
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
def test_unreadable_files_are_refused(tmp_path, capsys, monkeypatch, content, words):
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_text(content)
    assert_refused(refusal(capsys, monkeypatch, "--data", str(path)), *words)


def test_a_directory_is_refused(tmp_path, capsys, monkeypatch):
    assert_refused(refusal(capsys, monkeypatch, "--data", str(tmp_path)), "not a file")


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
def test_bad_arguments_are_refused(capsys, monkeypatch, arguments, words):
    assert_refused(refusal(capsys, monkeypatch, *arguments), *words)


def test_rows_not_approved_without_a_field_that_raised_them_are_counted():
    """Where the base rate is above the maybe threshold, a record can be refused with every contribution
    negative: its answer carries no reason, and the model card says how many validation rows are so."""
    above = model_store.settings.DECLINE_THRESHOLD + 0.01
    probabilities = np.array([above, above, 0.01])
    by_field = np.array([[-1.0, -2.0], [0.5, -1.0], [-1.0, -1.0]])
    assert train_script._unexplained(probabilities, by_field) == 1


@pytest.mark.parametrize("step", ["saving the model", "writing the model card"])
def test_sigterm_leaves_no_model_copy_and_changes_the_served_model_and_its_card_together(tmp_path, step):
    project, temporary = tmp_path / "project", tmp_path / "tmp"
    shutil.copytree(PROJECT_DIR, project, ignore=shutil.ignore_patterns("tests", "benchmarks", ".*", "__pycache__"))
    temporary.mkdir()
    served, card = (project / "served_model.txt").read_text(), (project / "MODEL_CARD.md").read_text()
    interrupted = "bentoml.models.Model.save" if step == "saving the model" else "scoring.report.write_card"
    module, function = interrupted.rsplit(".", 1)
    driver = (f"import os, signal, sys, bentoml.models, scoring.report, train\n"
              f"original = {module}.{function}\n"
              f"def interrupted(*args, **kwargs):\n"
              f"    os.kill(os.getpid(), signal.SIGTERM)\n"
              f"    return original(*args, **kwargs)\n"
              f"{module}.{function} = interrupted\n"
              f"sys.exit(train.main(['--rows', '500']))\n")  # fmt: skip
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml_home"), "TMPDIR": str(temporary)}
    result = subprocess.run([sys.executable, "-c", driver], cwd=project, env=env, capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 130, result.stderr
    assert not list(temporary.glob("bentoml-model-*"))  # BentoML's copy of the model being saved
    now_served, now_card = (project / "served_model.txt").read_text(), (project / "MODEL_CARD.md").read_text()
    if step == "saving the model":
        assert (now_served, now_card) == (served, card) and "is as it was" in result.stderr
    else:  # the card was being written when the signal came: both change, then the run stops
        assert now_served != served and f"`{now_served.strip()}`" in now_card and "is served" in result.stderr


def test_a_full_disk_while_saving_is_one_line_and_leaves_the_served_model_as_it_was(tmp_path):
    """A file-size limit makes the writes fail as a full disk does (EFBIG rather than ENOSPC)."""
    served = (PROJECT_DIR / "served_model.txt").read_text()

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml_home"), "TMPDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "train.py", "--rows", "500"], cwd=PROJECT_DIR, env=env,
                            capture_output=True, text=True, timeout=300, preexec_fn=small_files)  # fmt: skip
    # (LightGBM's library prints its own fatal error to stderr before Python sees it: that line is LightGBM's.)
    stderr = "\n".join(line for line in result.stderr.splitlines() if not line.startswith("[LightGBM] [Fatal]"))
    line = refusal_line(result.returncode, stderr)
    assert line.startswith("error: cannot save the model to ") and line.endswith("): nothing saved")
    assert (PROJECT_DIR / "served_model.txt").read_text() == served
    assert not list(tmp_path.glob("bentoml-model-*"))
