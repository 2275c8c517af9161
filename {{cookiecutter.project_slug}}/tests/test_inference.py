"""Inferring a contract from new CSVs: every kind of column, and bad targets."""

import numpy as np
import pandas as pd
import pytest

from scoring.contract import ContractError
from scoring.inference import MAX_CATEGORIES, infer_from_csv


@pytest.fixture
def csv(tmp_path):
    def write(frame: pd.DataFrame) -> str:
        path = tmp_path / "data.csv"
        frame.to_csv(path, index=False)
        return str(path)

    return write


def churn(rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "customer": [f"Customer {i}" for i in range(rows)],           # unique text: an identifier
        "tenure": rng.integers(0, 72, rows),                           # integer
        "monthly_charges": rng.uniform(18.5, 118.75, rows).round(2),  # number
        "plan": rng.choice(["basic", "plus", "pro"], rows),            # category
        "paperless": rng.choice(["Yes", "No"], rows),                  # boolean-like text
        "senior": rng.choice([True, False], rows),                     # pandas' own booleans
        "country": ["DE"] * rows,                                      # a single value
        "churned": rng.choice(["yes", "no"], rows, p=[0.3, 0.7]),
    })  # fmt: skip


def test_every_kind_of_column(csv):
    contract, notes = infer_from_csv(csv(churn()), "churned", "yes")
    kinds = {name: spec.kind for name, spec in contract.fields.items()}
    assert kinds == {"tenure": "integer", "monthly_charges": "number", "plan": "category",
                     "paperless": "boolean", "senior": "boolean"}  # fmt: skip
    assert contract.fields["plan"].categories == ["basic", "plus", "pro"]
    assert (contract.fields["paperless"].true_value, contract.fields["paperless"].false_value) == ("Yes", "No")
    assert (contract.fields["senior"].true_value, contract.fields["senior"].false_value) == ("True", "False")
    assert contract.fields["tenure"].minimum == 0 and contract.fields["tenure"].maximum >= 71
    assert (contract.target.positive_class, contract.target.negative_class) == ("yes", "no")
    assert set(contract.excluded) == {"customer", "country"}
    assert any("customer left out: it looks like an identifier" in note for note in notes)
    assert any("country left out: it has a single value" in note for note in notes)
    assert contract.example.keys() == contract.fields.keys()


def test_bounds_are_the_observed_range_widened_by_its_width_and_a_flag_is_its_two_values(csv):
    rows = 200
    frame = churn(rows).assign(
        latitude=np.linspace(44.89, 45.05, rows).round(4),  # far from 0: 0 is no latitude here
        year=np.arange(rows) % 6 + 1997,
        flag=np.arange(rows) % 2,
    )
    fields = infer_from_csv(csv(frame), "churned", "yes")[0].fields
    assert (fields["latitude"].minimum, fields["latitude"].maximum) == (44.73, 45.21)
    assert (fields["year"].minimum, fields["year"].maximum) == (1992, 2007)
    assert (fields["flag"].minimum, fields["flag"].maximum) == (0, 1)


def test_a_column_of_dates_is_left_out_as_dates_with_what_to_do(csv):
    frame = churn().assign(signed=pd.date_range("2024-01-01", periods=200, freq="D").strftime("%Y-%m-%d"))
    contract, notes = infer_from_csv(csv(frame), "churned", "yes")
    assert "signed" in contract.excluded
    assert any(note.startswith("signed left out: it holds dates") and "days since" in note for note in notes)


def test_missing_values_make_nullable_fields_and_integers_stay_integers(csv):
    frame = churn()
    frame.loc[::7, ["tenure", "plan"]] = None
    contract, _ = infer_from_csv(csv(frame), "churned", "yes")
    assert contract.fields["tenure"].nullable and contract.fields["tenure"].kind == "integer"
    assert contract.fields["plan"].nullable
    assert not contract.fields["monthly_charges"].nullable
    assert None not in contract.example.values(), "the example is a complete row"


def test_excluded_columns_and_too_many_categories(csv):
    frame = churn(400)
    frame["city"] = [f"city {i % (MAX_CATEGORIES + 30)}" for i in range(len(frame))]
    contract, notes = infer_from_csv(csv(frame), "churned", "yes", exclude=["monthly_charges"])
    assert "monthly_charges" not in contract.fields
    assert contract.excluded["monthly_charges"] == "excluded when the contract was inferred"
    assert "city" in contract.excluded and any("too many distinct values" in note for note in notes)


def test_rows_without_a_target_are_ignored_with_a_note(csv):
    frame = churn()
    frame.loc[:9, "churned"] = None
    contract, notes = infer_from_csv(csv(frame), "churned", "yes")
    assert "10 rows without a churned value are ignored" in notes
    assert contract.description.startswith("Inferred from data.csv (190 rows)")


def test_a_numeric_target_is_read_as_text(csv):
    frame = churn().assign(churned=lambda f: (f["churned"] == "yes").astype(int))
    contract, _ = infer_from_csv(csv(frame), "churned", "1")
    assert (contract.target.positive_class, contract.target.negative_class) == ("1", "0")


@pytest.mark.parametrize(
    ("change", "target", "positive", "message"),
    [
        ({}, "churn", "yes", "no column 'churn'"),
        ({}, "churned", "Yes", "positive class 'Yes' is not a value of 'churned' ('no', 'yes')"),
        ({"churned": ["yes", "no", "maybe", "no"] * 50}, "churned", "yes", "exactly 2 values, found 3: 'maybe', 'no'"),
        ({"churned": ["no"] * 200}, "churned", "no", "needs exactly 2 values, found 1: 'no'"),
        ({"churned": ["yes"] * 5 + ["no"] * 195}, "churned", "yes", "only 5 rows of churned = 'yes'"),
    ],
)  # fmt: skip
def test_unusable_targets_are_refused_in_one_line(csv, change, target, positive, message):
    with pytest.raises(ContractError, match=message.replace("(", r"\(").replace(")", r"\)")) as error:
        infer_from_csv(csv(churn().assign(**change)), target, positive)
    assert "\n" not in str(error.value)


def test_excluding_an_unknown_column_is_refused(csv):
    with pytest.raises(ContractError, match="no column 'zip'"):
        infer_from_csv(csv(churn()), "churned", "yes", exclude=["zip"])
