"""Every framework adapter, baked with and without training at generation time."""

import sys

import pytest
from conftest import FRAMEWORKS
from live_service import band_examples, classify, running_service

# Validation AUC on the default synthetic data is 0.82-0.84 for every adapter (a constant scorer gets 0.5).
AUC_FLOOR = 0.78


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_trained_at_generation_and_serves(bake, framework):
    project = bake(framework=framework)
    model = project.model_info()
    print(f"{framework}: validation AUC {model['metadata']['validation_auc']}")
    assert model["module"] == f"bentoml.{framework}"
    assert model["labels"]["framework"] == framework
    assert model["metadata"]["validation_auc"] > AUC_FLOOR
    with running_service(project.path, project.env) as url:
        examples = band_examples(url, project.validation_records())
        decisions = {status: classify(url, record).json() for status, record in examples.items()}
    assert sorted(examples) == ["APPROVED", "DECLINED", "MAYBE"]
    assert all(decision["status"] == status for status, decision in decisions.items())


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_untrained_bake_trains_later(bake, framework):
    """Each framework's project also passes its own tests: in test_own_data.py, trained on another data set."""
    project = bake(framework=framework, train_on_generate="no")
    listing = project.run(sys.executable, "-m", "bentoml", "models", "list", "-o", "json").stdout
    assert listing.strip() in ("", "[]"), "train_on_generate=no must not train"
    assert not (project.path / "served_model.txt").exists()
    project.run(sys.executable, "train.py")
    assert (project.path / "served_model.txt").read_text().startswith("credit_risk_service_model:")
    runtime = project.model_info()["metadata"]["runtime"]
    if framework == "lightgbm":  # its own single-row path is faster than onnxruntime (its adapter says why)
        assert runtime == "native (no ONNX form for this framework); one row: the framework's single-row prediction"
    else:
        assert runtime.startswith("onnxruntime"), runtime  # scikit-learn too (its adapter mends skl2onnx)
