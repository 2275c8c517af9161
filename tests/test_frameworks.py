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
def test_untrained_bake_trains_later_and_passes_its_own_tests(bake, framework):
    project = bake(framework=framework, train_on_generate="no")
    listing = project.run(sys.executable, "-m", "bentoml", "models", "list", "-o", "json").stdout
    assert listing.strip() in ("", "[]"), "train_on_generate=no must not train"
    result = project.run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "passed" in result.stdout
