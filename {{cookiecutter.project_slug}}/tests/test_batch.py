"""Batch scoring (score.py): the service's decision for every row of a file; rows that break the contract set aside."""

import gc
import signal
import subprocess
import sys
import time
import tracemalloc

import pandas as pd
import pyarrow as pa
import pytest
from conftest import PROJECT_DIR
from live_service import classify

import score as score_py
from scoring import batch, data, model_store, settings
from scoring import contract as data_contract
from scoring.features import FeatureEncoder
from scoring.policy import DecisionPolicy

CONTRACT = data_contract.load()


def table(rows: int) -> pd.DataFrame:
    """`rows` rows of the project's own training data (repeated as needed), with an id column first."""
    training = data.training_data(CONTRACT)
    frame = pd.concat([training] * -(-rows // len(training)), ignore_index=True).head(rows)
    frame.insert(0, "id", [f"id-{row:06d}" for row in range(rows)])
    return frame


def break_rows(frame: pd.DataFrame) -> dict[int, str]:
    """Break one rule in some rows, as a CSV can; row -> the reason check_rows gives."""
    reasons = {}
    for number, (name, spec) in enumerate(CONTRACT.fields.items()):
        row = 7 + 13 * number
        frame[name] = frame[name].astype(object)
        if spec.kind in ("integer", "number"):
            frame.loc[row, name], reasons[row] = "lots", f"{name}: 'lots' is not a number"
        elif spec.kind == "category":
            frame.loc[row, name], reasons[row] = "__unseen__", f"{name}: '__unseen__' not an allowed category"
        else:
            frame.loc[row, name] = "__unseen__"
            reasons[row] = f"{name}: '__unseen__' not {spec.true_value} or {spec.false_value}"
    if required := [name for name, spec in CONTRACT.fields.items() if not spec.nullable]:
        frame.loc[3, required[0]], reasons[3] = None, f"{required[0]}: missing"
    return dict(sorted(reasons.items()))


def score(env: dict, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "score.py", *args]
    return subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=True)


@pytest.fixture(scope="module")
def scored(serve_env, tmp_path_factory) -> dict:
    """A few thousand rows with some broken ones, scored by `python score.py` with the served model, in chunks."""
    folder = tmp_path_factory.mktemp("batch")
    frame = table(3000)
    broken = break_rows(frame)
    frame.to_csv(folder / "customers.csv", index=False)
    result = score(serve_env, str(folder / "customers.csv"), "--output", str(folder / "decisions.parquet"),
                   "--keep", "id", "--chunk-rows", "700")  # fmt: skip
    return {
        "input": frame,
        "broken": broken,
        "decisions": pd.read_parquet(folder / "decisions.parquet"),
        "rejects": pd.read_parquet(folder / "decisions-rejects.parquet"),  # the default: beside the output
        "stdout": result.stdout,
    }


def test_rows_that_break_the_contract_go_to_the_reject_file_with_the_reason(scored):
    rejects = scored["rejects"]
    assert dict(zip(rejects["row"], rejects["reason"], strict=True)) == scored["broken"]
    assert list(rejects["id"]) == [f"id-{row:06d}" for row in scored["broken"]]
    assert f"{len(scored['broken'])} rows break contract.yaml" in scored["stdout"]


def test_every_other_row_is_scored_once_in_input_order(scored):
    decisions = scored["decisions"]
    expected_rows = [row for row in range(len(scored["input"])) if row not in scored["broken"]]
    assert list(decisions["row"]) == expected_rows
    assert list(decisions["id"]) == [f"id-{row:06d}" for row in expected_rows]
    assert decisions["probability"].between(0, 1).all()
    assert list(decisions["status"]) == [DecisionPolicy().decide(p) for p in decisions["probability"]]
    assert decisions["model"].nunique() == 1 and decisions["model"][0].startswith(f"{settings.MODEL_NAME}:")
    assert f"{len(expected_rows)} rows scored with {decisions['model'][0]}" in scored["stdout"]


def request(row: pd.Series) -> dict:
    """A row of the input as POST /classify takes it."""
    record = {}
    for name, spec in CONTRACT.fields.items():
        value = row[name]
        if pd.isna(value):
            value = None
        elif spec.kind in ("integer", "number"):
            value = int(value) if spec.kind == "integer" else float(value)
        record[name] = value
    return record


def test_decisions_are_the_services_answers(scored, service_url):
    sample = scored["decisions"].iloc[::75]
    answers = [classify(service_url, request(scored["input"].loc[row])).json() for row in sample["row"]]
    assert [answer["status"] for answer in answers] == list(sample["status"])
    assert [answer["probability"] for answer in answers] == list(sample["probability"])
    assert {answer["model"] for answer in answers} == set(sample["model"])
    columns = [f"reason_{rank}" for rank in range(1, DecisionPolicy().max_reasons + 1)]
    written = [[field for field in row if isinstance(field, str)] for row in sample[columns].itertuples(index=False)]
    assert written == [[reason["field"] for reason in answer["reasons"]] for answer in answers]
    assert any(written), "no row of the sample was explained"


def test_serve_time_policy_overrides_apply_to_batch_scoring_too(serve_env, tmp_path):
    table(200).to_csv(tmp_path / "customers.csv", index=False)
    overrides = {"DECLINE_THRESHOLD": "0.999999", "MAYBE_THRESHOLD": "0.999998", "APPROVED_LABEL": "GRANTED"}
    env = serve_env | {f"{settings.ENV_PREFIX}{name}": value for name, value in overrides.items()}
    score(env, str(tmp_path / "customers.csv"), "--output", str(tmp_path / "decisions.csv"))
    decisions = pd.read_csv(tmp_path / "decisions.csv")
    policy = DecisionPolicy(decline_threshold=0.999999, maybe_threshold=0.999998, approved_label="GRANTED")
    assert list(decisions["status"]) == [policy.decide(p) for p in decisions["probability"]]
    assert "GRANTED" in set(decisions["status"])


@pytest.fixture(scope="module")
def scorer() -> model_store.Scorer:
    """A model trained here, in memory: scoring a file in this process needs no model store."""
    rows, _ = data.check_rows(data.training_data(CONTRACT), CONTRACT)
    features, target = FeatureEncoder(CONTRACT).encode_frame(rows), data.target_values(rows, CONTRACT)
    return model_store.fit(CONTRACT, features, target, seed=0)


def test_memory_stays_bounded_however_long_the_file(scorer, tmp_path, monkeypatch):
    """While a chunk is scored, a file 16 chunks long holds as much memory as one 4 chunks long (Python's and
    Arrow's, after a garbage collection): chunks are read, scored, written and let go. Reading the whole file
    at once holds twice as much or more here. Each row has 200 bytes more that are not read, so that both files
    are larger than what the CSV reader reads at a time."""
    chunk, policy, held = 1000, DecisionPolicy(), []
    decide = batch.decide

    def measuring_decide(frame, *args):
        gc.collect()
        held.append((len(frame), tracemalloc.get_traced_memory()[0] + pa.total_allocated_bytes()))
        return decide(frame, *args)

    monkeypatch.setattr(batch, "decide", measuring_decide)

    def memory_held(chunks: int) -> int:
        table(chunks * chunk).assign(notes="x" * 200).to_csv(tmp_path / "customers.csv", index=False)
        held.clear()
        tracemalloc.start()
        try:
            batch.score_file(tmp_path / "customers.csv", tmp_path / "decisions.parquet", scorer, policy, ["id"],
                             chunk_rows=chunk, progress=False)  # fmt: skip
        finally:
            tracemalloc.stop()
        assert [rows for rows, _ in held] == [chunk] * chunks
        return max(memory for _, memory in held)

    memory_held(4)  # once first: what is allocated once for good (caches, pandera's checks) is no row's
    small, large = memory_held(4), memory_held(16)
    assert large < 1.25 * small, f"{large / 1e6:.2f} MB held for 16 chunks, {small / 1e6:.2f} MB for 4"


def test_parquet_in_csv_out_gives_the_same_decisions_as_csv_in_parquet_out(scorer, tmp_path):
    frame = table(1500)
    broken = break_rows(frame)
    frame.to_csv(tmp_path / "in.csv", index=False)
    frame.astype({name: "string" for name in CONTRACT.fields}).to_parquet(tmp_path / "in.parquet")  # broken: text
    policy = DecisionPolicy()
    batch.score_file(tmp_path / "in.csv", tmp_path / "a.parquet", scorer, policy, ["id"], progress=False)
    outcome = batch.score_file(tmp_path / "in.parquet", tmp_path / "b.csv", scorer, policy, ["id"], progress=False)
    assert outcome == (1500 - len(broken), len(broken), str(tmp_path / "b.csv"), str(tmp_path / "b-rejects.csv"))
    for parquet, csv in [("a.parquet", "b.csv"), ("a-rejects.parquet", "b-rejects.csv")]:
        expected = pd.read_parquet(tmp_path / parquet)
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / csv), expected, check_dtype=False)


@pytest.mark.parametrize("keep", [[], ["id"]], ids=["a field", "a kept column"])
def test_a_file_without_a_needed_column_is_refused_in_one_line(scorer, tmp_path, keep):
    missing = keep[0] if keep else next(iter(CONTRACT.fields))
    table(10).drop(columns=missing).to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(data.DataError, match=rf"in.csv: missing column\(s\) {missing} \(see contract.yaml\)"):
        batch.score_file(tmp_path / "in.csv", tmp_path / "out.parquet", scorer, DecisionPolicy(), keep)
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize("case", ["output is the input", "rejects is the input", "rejects is the output",
                                  "output is a folder"])  # fmt: skip
def test_no_output_can_destroy_the_input_or_another_output(scorer, tmp_path, case):
    table(10).to_csv(tmp_path / "in.csv", index=False)
    before = (tmp_path / "in.csv").read_bytes()
    (tmp_path / "folder").mkdir()
    output, rejects = {
        "output is the input": ("in.csv", None),
        "rejects is the input": ("out.csv", "in.csv"),
        "rejects is the output": ("out.csv", "out.csv"),
        "output is a folder": ("folder", None),
    }[case]
    with pytest.raises(data.DataError, match="is the input file|would be one file|is a folder"):
        batch.score_file(tmp_path / "in.csv", tmp_path / output, scorer, DecisionPolicy(),
                         rejects=rejects and tmp_path / rejects, progress=False)  # fmt: skip
    assert (tmp_path / "in.csv").read_bytes() == before and not (tmp_path / "out.csv").exists()


def test_csv_cells_a_spreadsheet_would_run_are_quoted(scorer, tmp_path):
    frame = table(5).assign(id=["=1+1", "+cmd", "-2", "@SUM(A1)", "plain"])
    frame.to_csv(tmp_path / "in.csv", index=False)
    batch.score_file(tmp_path / "in.csv", tmp_path / "out.csv", scorer, DecisionPolicy(), ["id"], progress=False)
    assert list(pd.read_csv(tmp_path / "out.csv", dtype={"id": str})["id"]) == ["'=1+1", "'+cmd", "'-2", "'@SUM(A1)",
                                                                               "plain"]  # fmt: skip


@pytest.mark.parametrize("rows", ["0", "-5", "many"])
def test_chunk_rows_must_be_a_positive_number(rows, capsys):
    with pytest.raises(SystemExit):
        score_py.parse_args(["in.csv", "--output", "out.csv", "--chunk-rows", rows])
    assert "--chunk-rows" in capsys.readouterr().err


def test_sigterm_mid_run_leaves_no_file_half_written(serve_env, tmp_path):
    """SIGTERM (Kubernetes stopping a job) killed score.py where it stood, leaving its .partial files."""
    table(200_000).to_csv(tmp_path / "in.csv", index=False)
    command = [sys.executable, "score.py", str(tmp_path / "in.csv"), "--output", str(tmp_path / "out.csv"),
               "--chunk-rows", "1000"]  # fmt: skip
    run = subprocess.Popen(command, cwd=PROJECT_DIR, env=serve_env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".*.partial")) and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.poll() is None, "scoring ended before it could be interrupted"
    run.send_signal(signal.SIGTERM)
    _, error = run.communicate(timeout=60)
    assert run.returncode == 130 and error.strip().endswith("interrupted: no output file is left half-written")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.csv"]
