import pytest

from credit_scoring.data import MISSING_AMOUNT, clean, read_credit_csv, synthetic_credit_data
from credit_scoring.features import FEATURE_COLUMNS
from credit_scoring.schema import Application


def test_synthetic_data_is_deterministic():
    assert synthetic_credit_data(300, seed=7).equals(synthetic_credit_data(300, seed=7))
    assert not synthetic_credit_data(300, seed=7).equals(synthetic_credit_data(300, seed=8))


def test_cleaning_gives_valid_applications_and_a_binary_target():
    raw = synthetic_credit_data(500)
    applications, target = clean(raw)
    assert len(applications) == len(target) == 500
    assert set(target) == {0, 1}
    for application in applications:
        Application(**application)  # every cleaned row is a valid request


def test_cleaning_maps_codes_drops_unknown_status_and_fills_missing_amounts():
    raw = synthetic_credit_data(3)
    raw.loc[0, ["Home", "Income"]] = [1, MISSING_AMOUNT]
    raw.loc[1, "Status"] = 0
    applications, target = clean(raw)
    assert len(applications) == 2
    assert applications[0]["home"] == "rent"
    assert applications[0]["income"] == 0


def test_csv_with_a_missing_column_is_reported_by_name(tmp_path):
    path = tmp_path / "credit.csv"
    synthetic_credit_data(10).drop(columns=["Price"]).to_csv(path, index=False)
    with pytest.raises(ValueError, match="missing column.*price"):
        read_credit_csv(path)


def test_csv_round_trip(tmp_path):
    path = tmp_path / "credit.csv"
    synthetic_credit_data(10).to_csv(path, index=False)
    applications, _ = clean(read_credit_csv(path))
    assert list(applications[0]) == FEATURE_COLUMNS
