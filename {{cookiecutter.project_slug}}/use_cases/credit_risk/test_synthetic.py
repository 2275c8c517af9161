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


PUBLIC_LAYOUT = """Status,Seniority,Home,Time,Age,Marital,Records,Job,Expenses,Income,Assets,Debt,Amount,Price
1,9,1,60,30,2,1,3,73,129,0,0,800,846
2,10,2,36,46,2,2,3,90,99999999,3000,0,2000,2985
0,0,1,60,24,1,1,1,63,182,2500,0,900,1325
"""


def test_the_public_data_set_is_read_in_its_own_layout(tmp_path, capsys):
    path = tmp_path / "CreditScoring.csv"
    path.write_text(PUBLIC_LAYOUT)
    contract = load()
    rows = data.training_data(contract, path)
    assert list(rows.columns) == contract.columns and len(rows) == 2  # Status 0 (unknown) left out
    assert list(rows["status"]) == ["repaid", "defaulted"] and list(rows["home"]) == ["rent", "owner"]
    assert rows["income"].isna().tolist() == [False, True]  # 99999999: not declared
    assert data.check_rows(rows, contract)[1].empty
    assert "left out 1 of 3 rows, of Status 0" in capsys.readouterr().err
