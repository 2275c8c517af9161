"""Every framework adapter, baked with and without training at generation time."""

import sys

import pytest
from conftest import FRAMEWORKS
from live_service import RISK_LADDER, classify, running_service

# Validation AUC on the default synthetic data is ~0.84 for every adapter (a constant scorer gets 0.5).
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
        decisions = [classify(url, application).json() for application in RISK_LADDER]
    assert [decision["status"] for decision in decisions] == ["APPROVED", "MAYBE", "DECLINED"]
    assert all(0 <= decision["probability"] <= 1 for decision in decisions)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_untrained_bake_trains_later_and_passes_its_own_tests(bake, framework):
    project = bake(framework=framework, train_on_generate="no")
    listing = project.run(sys.executable, "-m", "bentoml", "models", "list", "-o", "json").stdout
    assert listing.strip() in ("", "[]"), "train_on_generate=no must not train"
    result = project.run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "passed" in result.stdout
