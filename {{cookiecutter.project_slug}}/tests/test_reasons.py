"""Principal reasons: exact tree attributions, summed back to the contract's fields, the same on every path."""

import numpy as np
import pytest
from conftest import with_served_model

from scoring.contract import load
from scoring.features import FeatureEncoder
from scoring.reasons import Reasons

# The served explainer against the framework's own attributions and the served probabilities.
EXPLAIN = """
served = scorer.explain(features)
own = framework.contributions(framework.load(bento_model), features)
probabilities = scorer.probabilities(features).astype(float)
by_field = scorer.by_field(served)
one_by_one = np.concatenate([scorer.explain(features[i : i + 1]) for i in range(len(features))])
shipped = pickle.loads(pickle.dumps(scorer)).explain(features)  # as batch scoring ships it to Spark workers
print(json.dumps({"served": served.tolist(), "own": own.tolist(), "probabilities": probabilities.tolist(),
                  "by_field": by_field.tolist(), "one_by_one": one_by_one.tolist(), "shipped": shipped.tolist(),
                  "explainer": bento_model.info.metadata["reasons"], "tree_shap": scorer.tree_shap}))
"""


@pytest.fixture(scope="module")
def explained(serve_env) -> dict:
    result = with_served_model(serve_env, EXPLAIN)
    return {key: np.array(value) if isinstance(value, list) else value for key, value in result.items()}


def test_contributions_and_bias_add_up_to_the_log_odds(explained):
    probabilities, total = explained["probabilities"], explained["served"].sum(axis=1)
    clear = (probabilities > 1e-3) & (probabilities < 1 - 1e-3)  # where float32 probabilities give the log-odds
    assert np.max(np.abs(total - np.log(probabilities / (1 - probabilities)))[clear]) <= 1e-4
    assert np.max(np.abs(1 / (1 + np.exp(-total)) - probabilities)) <= 1e-6


def test_the_served_explainer_gives_the_frameworks_own_attributions(explained):
    assert np.max(np.abs(explained["served"] - explained["own"])) <= 1e-5
    assert explained["explainer"].startswith("shap's compiled" if explained["tree_shap"] else "the framework's own")
    assert np.array_equal(explained["one_by_one"], explained["served"])  # a one-record request explains alike
    assert np.array_equal(explained["shipped"], explained["served"])


def test_a_fields_encoded_columns_are_summed_back_to_it(explained):
    """Each field against the sum of the columns named after it: the field's own, or `field=category`."""
    contract = load()
    columns = FeatureEncoder(contract).columns
    for position, name in enumerate(contract.fields):
        own = [index for index, column in enumerate(columns) if column == name or column.startswith(f"{name}=")]
        summed = explained["served"][:, own].sum(axis=1)
        assert np.allclose(explained["by_field"][:, position], summed), name


def test_reasons_name_fields_largest_first_positive_only_at_most_the_limit():
    contract = load()
    encoder = FeatureEncoder(contract)
    reasons = Reasons(contract, encoder)
    contributions = np.random.default_rng(0).normal(size=(200, len(encoder.columns) + 1))
    by_field = reasons.by_field(contributions)
    for limit in (0, 1, 4, len(contract.fields) + 3):
        for row, principal in zip(by_field, reasons.principal(contributions, limit), strict=True):
            expected = sorted((value for value in row if value > 0), reverse=True)[:limit]
            assert [reason["contribution"] for reason in principal] == pytest.approx(expected)
            assert all(reason["field"] in contract.fields for reason in principal)
            assert [reason["text"] for reason in principal] == [contract.reason_text(r["field"]) for r in principal]


WITHOUT_SHAP = """
from importlib.metadata import PackageNotFoundError
import scoring.tree_shap

def not_installed(name):
    raise PackageNotFoundError(name)

scoring.tree_shap.version = not_installed  # as in a bento of a framework with attributions of its own
unshapped = model_store.load(bento_model)
print(json.dumps({"tree_shap": unshapped.tree_shap, "explained": unshapped.explain(features).tolist()}))
"""


def test_without_shap_the_frameworks_own_attributions_serve(serve_env, explained):
    result = with_served_model(serve_env, WITHOUT_SHAP)
    assert result["tree_shap"] is False
    assert np.allclose(result["explained"], explained["own"], atol=1e-5)
