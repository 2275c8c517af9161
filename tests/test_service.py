"""Generated projects, trained by the post-gen hook, served for real and built into a bento."""

import sys
import tarfile

import pytest
import yaml
from live_service import LOW_RISK, MEDIUM_RISK, RISK_LADDER, classify, running_service

CUSTOM = {
    "project_name": "Loan Desk",
    "model_name": "loan.model-v2",
    "decline_threshold": "0.9",
    "maybe_threshold": "0.1",
    "declined_label": "REJECT",
    "maybe_label": "REVIEW",
    "approved_label": "ACCEPT",
}


def statuses(url: str) -> list[str]:
    decisions = [classify(url, application).json() for application in RISK_LADDER]
    assert all(0 <= decision["probability"] <= 1 for decision in decisions)
    return [decision["status"] for decision in decisions]


def test_default_project_serves_the_three_statuses_right_after_generation(bake):
    project = bake()
    with running_service(project.path, project.env) as url:
        assert statuses(url) == ["APPROVED", "MAYBE", "DECLINED"]
        assert classify(url, LOW_RISK).json()["model"].startswith("credit_risk_model:")


def test_answers_reach_the_running_service(bake):
    """MEDIUM_RISK (p ~ 0.45) is MAYBE by default and HIGH_RISK (p ~ 0.98) DECLINED: the answers move them."""
    project = bake(**CUSTOM)
    assert project.path.name == "loan-desk"
    with running_service(project.path, project.env) as url:
        assert statuses(url) == ["ACCEPT", "REVIEW", "REJECT"]
        medium = classify(url, {**MEDIUM_RISK, "income": 120}).json()
        assert medium["model"].startswith("loan.model-v2:")
        assert medium["status"] == ("REJECT" if medium["probability"] > 0.9 else "REVIEW")


def test_model_metadata_records_metrics_thresholds_and_versions(bake):
    metadata = bake(**CUSTOM).model_info("loan.model-v2")["metadata"]
    assert metadata["validation_auc"] > 0.75
    assert metadata["train_rows"] + metadata["validation_rows"] == 5000
    assert (metadata["decline_threshold"], metadata["maybe_threshold"]) == (0.9, 0.1)
    assert metadata["package_versions"]["bentoml"] == metadata["package_versions"]["bentoml"].strip()
    assert set(metadata["package_versions"]) >= {"bentoml", "scikit-learn", "xgboost"}


def test_bentoml_build_packs_code_model_and_dockerfile(bake, tmp_path):
    project = bake()
    build = project.run(sys.executable, "-m", "bentoml", "build", "--output", "tag").stdout
    tag = build.strip().splitlines()[-1].removeprefix("__tag__:")
    assert tag.startswith("credit_risk_service:")
    # A bento references its models; `bentoml export` (like containerize) packs them in.
    project.run(sys.executable, "-m", "bentoml", "export", tag, str(tmp_path / "service.bento"))
    with tarfile.open(tmp_path / "service.bento") as bento:
        members = {name.removeprefix("./") for name in bento.getnames()}
        manifest = yaml.safe_load(bento.extractfile("./bento.yaml"))
    model_tag = manifest["services"][0]["models"][0]["tag"]
    assert model_tag.startswith("credit_risk_model:")
    model_dir = "models/" + model_tag.replace(":", "/")
    expected = {"env/docker/Dockerfile", "apis/openapi.yaml", "src/service.py", "src/credit_scoring/policy.py",
                f"{model_dir}/saved_model.ubj", f"{model_dir}/custom_objects.pkl"}  # fmt: skip
    assert expected <= members
    with tarfile.open(tmp_path / "service.bento") as bento:
        requirements = bento.extractfile("./env/python/requirements.txt").read().decode()
    pinned = yaml.safe_load((project.path / "bentofile.yaml").read_text())["python"]["packages"]
    assert set(pinned) <= set(requirements.split()), "the bento installs the versions the model was trained with"
    assert not [name for name in members if name.startswith("src/tests")]


@pytest.mark.parametrize("answers", [{}, CUSTOM], ids=["default", "custom"])
def test_generated_project_tests_pass(bake, answers):
    result = bake(**answers).run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", check=False)
    assert result.returncode == 0, result.stdout[-3000:]
