"""The model card (scoring/report.py): what the thresholds do on the validation rows, checked against the
decisions of the running service; its plots; the thresholds it suggests."""

import json
import subprocess
import sys

import httpx
import numpy as np
import pandas as pd
import pytest
from conftest import PROJECT_DIR
from examples import validation_positives, validation_records, validation_rows
from sklearn.metrics import roc_auc_score, roc_curve

from scoring import fairness, settings
from scoring import report as report_script
from scoring.contract import load
from scoring.policy import DecisionPolicy
from scoring.report import (
    CARD_FILE,
    PLOTS_DIR,
    Validation,
    bands,
    cost_minimizing_cut,
    generated_policy,
    maybe_threshold_for_approval_rate,
)

POLICY = generated_policy()
LABELS = [POLICY.declined_label, POLICY.maybe_label, POLICY.approved_label]


def made_up(rows: int = 1000, seed: int = 0) -> Validation:
    """Probabilities higher for the positive rows, rounded so that some are equal."""
    rng = np.random.default_rng(seed)
    positive = rng.random(rows) < 0.3
    probabilities = np.clip(rng.normal(np.where(positive, 0.6, 0.3), 0.2), 0.001, 0.999).round(3)
    return Validation(probabilities, positive)


@pytest.mark.parametrize("rows", [3, 7, 1000, 1001])
def test_shares_add_up_to_100_and_rows_to_all_the_rows(rows):
    table = bands(made_up(rows), POLICY)
    assert [band.status for band in table] == LABELS
    assert sum(band.rows for band in table) == rows
    assert round(sum(band.share for band in table), 1) == 100.0
    assert all(abs(band.share - 100 * band.rows / rows) < 0.1 + 1e-9 for band in table)


def test_bands_are_the_policy_applied_to_each_probability():
    maybe, decline = POLICY.maybe_threshold, POLICY.decline_threshold
    probabilities = np.array([0.0, maybe, maybe + 1e-9, decline, decline + 1e-9, 1.0])
    table = bands(Validation(probabilities, np.array([False, True, False, True, True, True])), POLICY)
    assert [(band.rows, band.positives, band.positive_rate) for band in table] == [
        (2, 2, 100.0),
        (2, 1, 50.0),
        (2, 1, 50.0),
    ]


def test_an_empty_band_has_no_positive_rate():
    table = bands(Validation(np.array([0.01, 0.02]), np.array([True, False])), POLICY)
    assert [band.rows for band in table] == [0, 0, 2]
    assert table[0].positive_rate is None and table[2].positive_rate == 50.0


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.7, 0.95])
def test_the_approval_rate_threshold_is_the_lowest_that_approves_that_share(rate):
    validation = made_up()
    threshold = maybe_threshold_for_approval_rate(validation, rate)
    assert (validation.probabilities <= threshold).mean() >= rate > (validation.probabilities < threshold).mean()


@pytest.mark.parametrize("cost_ratio", [0.2, 1, 5])
def test_the_cost_ratio_cut_costs_least(cost_ratio):
    validation = made_up(300)

    def cost(cut: float) -> float:  # false approvals cost cost_ratio, false declines 1
        approved = validation.probabilities <= cut
        return cost_ratio * (approved & validation.positive).sum() + (~approved & ~validation.positive).sum()

    best = cost_minimizing_cut(validation, cost_ratio)
    assert cost(best) == min(cost(cut) for cut in np.unique(validation.probabilities))


def served_decisions(url: str, records: list[dict]) -> list[dict]:
    decisions = []
    for start in range(0, len(records), 500):
        response = httpx.post(f"{url}/classify_batch", json={"records": records[start : start + 500]}, timeout=60)
        response.raise_for_status()
        decisions += response.json()
    return decisions


@pytest.fixture(scope="session")
def validation_decisions(service_url) -> list[tuple[dict, bool]]:
    """The running service's decision for each validation row, and whether the row is of the positive class."""
    return list(zip(served_decisions(service_url, validation_records()), validation_positives(), strict=True))


def counted(decisions: list[tuple[dict, bool]], policy: DecisionPolicy) -> dict[str, tuple[int, int]]:
    """For each status, (rows, positive rows) when `policy` decides on the served probabilities."""
    counts = {label: (0, 0) for label in LABELS}
    for decision, positive in decisions:
        rows, positives = counts[policy.decide(decision["probability"])]
        counts[policy.decide(decision["probability"])] = (rows + 1, positives + positive)
    return counts


def test_training_writes_a_card_whose_numbers_are_what_the_service_decides(
    serve_env, model_card_dir, validation_decisions
):
    """train.py --model-card: the band table in the model's metadata and in the card, and the plots."""
    assert [decision["status"] for decision, _ in validation_decisions] == [
        POLICY.decide(decision["probability"]) for decision, _ in validation_decisions
    ]
    model = json.loads(
        subprocess.run(
            [sys.executable, "-m", "bentoml", "models", "get", f"{settings.MODEL_NAME}:latest", "-o", "json"],
            env=serve_env, check=True, capture_output=True, text=True,
        ).stdout
    )  # fmt: skip
    stored = model["metadata"]["validation_bands"]
    assert [band["status"] for band in stored] == LABELS
    assert sum(band["rows"] for band in stored) == len(validation_decisions)
    assert round(sum(band["share_pct"] for band in stored), 1) == 100.0
    card = (model_card_dir / CARD_FILE).read_text(encoding="utf-8")
    for band, (label, (rows, positives)) in zip(stored, counted(validation_decisions, POLICY).items(), strict=True):
        assert (band["rows"], band["positives"]) == (rows, positives), label
        assert band["share_pct"] == pytest.approx(100 * rows / len(validation_decisions), abs=0.1)
        if rows:
            assert band["positive_rate_pct"] == round(100 * positives / rows, 1)
        assert f"| {rows:,} | {band['share_pct']:.1f} % |" in card
    plots = ("roc.png", "scores.png", "calibration.png", "importance.png")
    assert all(f"{PLOTS_DIR}/{plot}" in card for plot in plots)
    for plot in plots:
        image = (model_card_dir / PLOTS_DIR / plot).read_bytes()
        assert image.startswith(b"\x89PNG") and len(image) > 10_000, plot


def report(serve_env: dict, *arguments: str, **environment: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "scoring.report", *arguments]
    env = serve_env | {settings.ENV_PREFIX + name: value for name, value in environment.items()}
    return subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)


def printed_bands(output: str) -> list[tuple[int, float]]:
    """(rows, share) of each status printed, in the order declined, maybe, approved."""
    lines = output.splitlines()[2:5]
    return [(int(rows.replace(",", "")), float(share.rstrip("%"))) for rows, share, _ in
            (line.rsplit(maxsplit=3)[1:] for line in lines)]  # fmt: skip


def test_the_report_shows_what_thresholds_overridden_at_serve_time_do(serve_env, validation_decisions):
    given = report(serve_env, "--decline", "0.6", "--maybe", "0.35")
    assert given.returncode == 0, given.stderr
    in_force = report(serve_env, DECLINE_THRESHOLD="0.6", MAYBE_THRESHOLD="0.35")
    assert in_force.stdout == given.stdout
    overridden = POLICY.model_copy(update={"decline_threshold": 0.6, "maybe_threshold": 0.35})
    expected = counted(validation_decisions, overridden)
    assert [rows for rows, _ in printed_bands(given.stdout)] == [rows for rows, _ in expected.values()]
    assert round(sum(share for _, share in printed_bands(given.stdout)), 1) == 100.0


def test_suggestions_are_printed_and_never_applied(serve_env):
    result = report(serve_env, "--approval-rate", "0.5", "--cost-ratio", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("(not applied)") == 2
    assert "approving 50% of the rows: --maybe" in result.stdout
    assert result.stdout.startswith(report(serve_env).stdout)  # the report as without them, then the suggestions


def test_thresholds_that_make_no_policy_are_refused_in_one_line(serve_env):
    result = report(serve_env, "--decline", "0.3", "--maybe", "0.4")
    assert result.returncode != 0, result.stderr
    refusal = result.stderr.splitlines()[-1]
    assert refusal.startswith("error: maybe_threshold 0.4 must be lower than decline_threshold 0.3")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--decline", "1.5"], "--decline: 1.5 is not between 0 and 1"),
        (["--approval-rate", "abc"], "--approval-rate: 'abc' is not a number"),
        (["--cost-ratio", "-1"], "--cost-ratio: -1 is not a positive number"),
    ],
)
def test_bad_arguments_are_refused_in_one_line(capsys, arguments, message):
    """In this process: argparse refuses them before any model is loaded."""
    with pytest.raises(SystemExit) as refused:
        report_script.main(arguments)
    assert refused.value.code == 2
    assert message in capsys.readouterr().err.splitlines()[-1]


def model_metadata(serve_env: dict) -> dict:
    command = [sys.executable, "-m", "bentoml", "models", "get", f"{settings.MODEL_NAME}:latest", "-o", "json"]
    return json.loads(subprocess.run(command, env=serve_env, check=True, capture_output=True, text=True).stdout)[
        "metadata"
    ]


def test_gini_and_ks_are_those_of_the_served_probabilities(serve_env, validation_decisions):
    metadata = model_metadata(serve_env)
    probabilities = [decision["probability"] for decision, _ in validation_decisions]
    positives = [positive for _, positive in validation_decisions]
    false_positive, true_positive, _ = roc_curve(positives, probabilities)
    assert metadata["validation_gini"] == pytest.approx(2 * roc_auc_score(positives, probabilities) - 1, abs=1e-3)
    assert metadata["validation_ks"] == pytest.approx(max(true_positive - false_positive), abs=1e-3)


def test_each_protected_groups_outcomes_are_what_the_service_decides(serve_env, model_card_dir, validation_decisions):
    """The group table in the metadata and the card, recounted here from the running service's answers."""
    contract, metadata = load(), model_metadata(serve_env)
    card = (model_card_dir / CARD_FILE).read_text(encoding="utf-8")
    assert set(metadata["protected_groups"]) == set(contract.protected)
    assert metadata["protected_inputs"] == [name for name in contract.protected if name in contract.fields]
    if not contract.protected:
        assert "No protected column was named" in card
    rows = validation_rows()
    for column in contract.protected:
        groups = fairness.groups(rows[column])
        stored = {row["group"]: row for row in metadata["protected_groups"][column]}
        assert sum(row["rows"] for row in stored.values()) == len(validation_decisions)
        for group, row in stored.items():
            mine = [(decision, positive) for (decision, positive), g in zip(validation_decisions, groups, strict=True)
                    if g == group]  # fmt: skip
            declined = sum(decision["status"] == POLICY.declined_label for decision, _ in mine)
            approved = sum(decision["status"] == POLICY.approved_label for decision, _ in mine)
            negatives = [decision for decision, positive in mine if not positive]
            false_declines = sum(decision["status"] == POLICY.declined_label for decision in negatives)
            assert row["rows"] == len(mine), (column, group)
            # shares to 0.1 that add up to 100.0: each within 0.1 of the exact one (largest remainders)
            assert row["declined_pct"] == pytest.approx(100 * declined / len(mine), abs=0.1 + 1e-9)
            assert row["approved_pct"] == pytest.approx(100 * approved / len(mine), abs=0.1 + 1e-9)
            if negatives:
                assert row["false_decline_pct"] == pytest.approx(100 * false_declines / len(negatives), abs=0.051)
        rates = {group: [d["status"] == POLICY.approved_label for (d, _), g in zip(validation_decisions, groups,
                                                                                   strict=True) if g == group]
                 for group in stored}  # fmt: skip
        best = max(np.mean(approved) for approved in rates.values())
        expected = {
            group
            for group, approved in rates.items()
            if np.mean(approved) < fairness.FOUR_FIFTHS * best and len(approved) >= fairness.MIN_GROUP_ROWS
        }
        assert set(fairness.flagged(list(stored.values()))) == expected
        assert f"### `{column}`" in card
        use = "**an input of the model**" if column in contract.fields else "not an input of the model"
        assert f"### `{column}`: {use}" in card


def test_the_report_prints_the_group_tables_for_other_thresholds(serve_env):
    contract = load()
    output = report(serve_env, "--decline", "0.7", "--maybe", "0.2").stdout
    for column in contract.protected:
        assert f"\nby {column}:\n" in output
    if not contract.protected:
        assert "\nby " not in output


def test_numbers_are_reported_in_bands_and_missing_values_in_a_group_of_their_own():
    ages = pd.Series([18, 25, 33, 41, 52, 67, None, 29, 38, 45] * 10, dtype="float")  # quartiles 29, 38, 45
    assert fairness.groups(ages)[:7] == ["18-29", "18-29", "30-38", "39-45", "46-67", "46-67", "missing"]
    assert fairness.groups(pd.Series(["a", None, "b"])) == ["a", "missing", "b"]
    fractions = pd.Series(np.linspace(0.5, 67.25, 40))  # ages with months: whole edges
    table = fairness.group_table(np.full(40, 0.1), np.zeros(40, bool), fairness.groups(fractions), POLICY)
    assert [row["group"] for row in table] == ["[0, 17]", "(17, 34]", "(34, 51]", "(51, 68]"]  # in their order
    young = pd.Series([5, 9, 12, 18, 25, 33, 41, 52, 67, None] * 10, dtype="float")
    table = fairness.group_table(np.full(100, 0.1), np.zeros(100, bool), fairness.groups(young), POLICY)
    assert [row["group"] for row in table] == ["5-12", "13-25", "26-41", "42-67", "missing"]  # quartiles 12, 25, 41


def test_a_group_approved_at_under_four_fifths_of_the_best_is_flagged_unless_it_has_few_rows():
    """The flag comes from the exact ratio (0.796 is under 0.8, though printed 0.80); a group of fewer than
    MIN_GROUP_ROWS rows is marked as such, not flagged."""
    approved = [0.1] * 1000 + [0.1] * 796 + [0.9] * 204 + [0.1] * 5 + [0.9] * 5
    groups = ["a"] * 1000 + ["b"] * 1000 + ["c"] * 10
    table = fairness.group_table(np.array(approved), np.zeros(2010, bool), groups, POLICY)
    assert [(row["group"], row["approved_pct"], row["approval_ratio"]) for row in table] == [
        ("a", 100.0, 1.0), ("b", 79.6, 0.8), ("c", 50.0, 0.5)]  # fmt: skip
    assert fairness.flagged(table) == ["b"]
    assert [fairness.cells(row)[-1] for row in table] == ["1.00", "0.80 ⚠", "0.50 (few rows)"]


def test_a_figure_without_meaning_is_a_dash_and_the_shares_add_up_to_100():
    """A group with no negative row has no false-decline rate, one class no AUC; no approval, no ratio."""
    probabilities = np.array([0.9, 0.4, 0.1] * 20 + [0.9] * 3)
    positive = np.array([True, False, True] * 20 + [True] * 3)
    table = fairness.group_table(probabilities, positive, ["a"] * 60 + ["b"] * 3, POLICY)
    assert all(round(row["declined_pct"] + row["maybe_pct"] + row["approved_pct"], 1) == 100.0 for row in table)
    assert [fairness.cells(row)[6:] for row in table] == [["0.500", "0.0 %", "1.00"], ["-", "-", "0.00 (few rows)"]]
