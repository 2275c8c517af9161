"""Generated projects, trained by the post-gen hook, served for real and built into a bento."""

import os
import sys
import tarfile

import pytest
import yaml
from live_service import band_examples, classify, running_service

CUSTOM = {
    "project_name": "Loan Desk",
    "model_name": "loan.model-v2",
    "decline_threshold": "0.9",
    "maybe_threshold": "0.1",
    "declined_label": "REJECT",
    "maybe_label": "REVIEW",
    "approved_label": "ACCEPT",
}


def test_default_project_serves_the_three_statuses_right_after_generation(bake):
    project = bake()
    with running_service(project.path, project.env) as url:
        examples = band_examples(url, project.validation_records())
        decision = classify(url, project.contract["example"]).json()
    assert sorted(examples) == ["APPROVED", "DECLINED", "MAYBE"]
    assert decision["model"].startswith("credit_risk_service_model:")


def test_answers_reach_the_running_service(bake):
    """The generated thresholds and labels decide: 0.9 / 0.1 and REJECT / REVIEW / ACCEPT."""
    project = bake(**CUSTOM)
    assert project.path.name == "loan-desk"
    with running_service(project.path, project.env) as url:
        examples = band_examples(url, project.validation_records())
        decisions = [classify(url, record).json() for record in examples.values()]
    assert sorted(examples) == ["ACCEPT", "REJECT", "REVIEW"]
    for decision in decisions:
        probability = decision["probability"]
        assert decision["status"] == ("REJECT" if probability > 0.9 else "REVIEW" if probability > 0.1 else "ACCEPT")
        assert decision["model"].startswith("loan.model-v2:")


def test_model_metadata_records_metrics_thresholds_and_versions(bake):
    metadata = bake(**CUSTOM).model_info()["metadata"]
    assert metadata["validation_auc"] > 0.75
    assert metadata["train_rows"] + metadata["validation_rows"] == 5000
    assert (metadata["decline_threshold"], metadata["maybe_threshold"]) == (0.9, 0.1)
    assert metadata["target"] == "status = defaulted"
    assert metadata["package_versions"]["bentoml"] == metadata["package_versions"]["bentoml"].strip()
    assert set(metadata["package_versions"]) >= {"bentoml", "numpy", "xgboost"}


def test_bentoml_build_packs_code_contract_model_and_dockerfile(bake, tmp_path):
    project = bake()
    build = project.run(sys.executable, "-m", "bentoml", "build", "--output", "tag").stdout
    tag = build.strip().splitlines()[-1].removeprefix("__tag__:")
    assert tag.startswith("credit_risk_service:")
    # A bento references its models; `bentoml export` (like containerize) packs them in.
    project.run(sys.executable, "-m", "bentoml", "export", tag, str(tmp_path / "service.bento"))
    with tarfile.open(tmp_path / "service.bento") as bento:
        members = {name.removeprefix("./") for name in bento.getnames()}
        manifest = yaml.safe_load(bento.extractfile("./bento.yaml"))
        requirements = bento.extractfile("./env/python/requirements.txt").read().decode()
    model_tag = manifest["services"][0]["models"][0]["tag"]
    assert model_tag.startswith("credit_risk_service_model:")
    model_dir = "models/" + model_tag.replace(":", "/")
    expected = {"env/docker/Dockerfile", "apis/openapi.yaml", "src/service.py", "src/contract.yaml",
                "src/scoring/policy.py", f"{model_dir}/saved_model.ubj", f"{model_dir}/custom_objects.pkl"}  # fmt: skip
    assert expected <= members
    pinned = yaml.safe_load((project.path / "bentofile.yaml").read_text())["python"]["packages"]
    assert set(pinned) <= set(requirements.split()), "the bento installs the versions the model was trained with"
    assert not [name for name in members if name.startswith(("src/tests", "src/use_cases"))]


def test_two_projects_sharing_a_store_and_a_model_name_each_serve_their_own_model(cookies, tmp_path, monkeypatch):
    monkeypatch.setenv("BENTOML_HOME", str(tmp_path / "shared_home"))
    first, second = (cookies.bake(extra_context={"project_name": name, "model_name": "shared_model"}).project_path
                     for name in ("First Desk", "Second Desk"))  # fmt: skip
    env = {**os.environ}
    assert served_tag_of(first) != served_tag_of(second)
    with running_service(first, env) as url:
        assert classify(url, yaml.safe_load((first / "contract.yaml").read_text())["example"]).json()["model"] == (
            served_tag_of(first)
        )


def served_tag_of(project_dir) -> str:
    return (project_dir / "served_model.txt").read_text().strip()


def test_training_serves_the_new_model_and_promote_rolls_back(bake):
    project = bake(project_name="Rollback Desk")
    first = served_tag_of(project.path)
    project.run(sys.executable, "train.py", "--seed", "7")
    second = served_tag_of(project.path)
    assert second != first and second.startswith("rollback_desk_model:")
    project.run("make", "promote", f"TAG={first}")
    assert served_tag_of(project.path) == first
    refused = project.run("make", "promote", "TAG=rollback_desk_model:nosuchversion", check=False)
    assert refused.returncode != 0 and "is not in the BentoML model store" in refused.stderr
    with running_service(project.path, project.env) as url:
        assert classify(url, project.contract["example"]).json()["model"] == first


@pytest.mark.parametrize("answers", [{}, CUSTOM], ids=["default", "custom"])
def test_generated_project_tests_pass(bake, answers):
    result = bake(**answers).own_tests(everything=answers == {})
    assert result.returncode == 0, result.stdout[-3000:]
