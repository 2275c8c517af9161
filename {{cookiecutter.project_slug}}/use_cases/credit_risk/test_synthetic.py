"""The credit-risk use case's synthetic sample: deterministic, and kept by its contract."""

from scoring import data
from scoring.contract import load
from scoring.synthetic import sample


def test_the_sample_is_deterministic_for_a_seed():
    assert sample(300, seed=7).equals(sample(300, seed=7))
    assert not sample(300, seed=7).equals(sample(300, seed=8))


def test_every_row_keeps_the_contract_and_both_classes_occur():
    contract = load()
    rows, rejected = data.check_rows(sample(2000)[contract.columns], contract)
    assert rejected.empty
    assert 0.1 < data.target_values(rows, contract).mean() < 0.5
    assert rows[["income", "assets", "debt"]].isna().any().all(), "some amounts are not declared"
