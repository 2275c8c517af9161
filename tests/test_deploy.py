"""From laptop to cluster: Kubernetes manifests, Makefile, CI workflow and template updates with cruft."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from conftest import TEMPLATE_DIR

DNS_1123 = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


@pytest.fixture(scope="module")
def manifests(bake) -> dict[str, dict]:
    project = bake(train_on_generate="no", service_name="loan_desk", docker_image="registry.example.com/loan:1.2")
    return {path.stem: yaml.safe_load(path.read_text()) for path in (project.path / "k8s").glob("*.yaml")}


def test_manifests_are_valid_kubernetes(manifests):
    assert sorted(manifests) == ["deployment", "hpa", "service"]
    for manifest in manifests.values():
        kubernetes_validate.validate(manifest, kubernetes_validate.latest_version(), strict=True)
        assert DNS_1123.fullmatch(manifest["metadata"]["name"])
        assert manifest["metadata"]["name"] == "loan-desk"


def test_deployment_probes_port_resources_and_image(manifests):
    deployment = manifests["deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.example.com/loan:1.2"
    assert container["ports"] == [{"name": "http", "containerPort": 3000}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys() & container["resources"]["limits"].keys()
    assert {variable["name"] for variable in container["env"]} == {
        "BENTOML_HOME",
        "LOAN_DESK_DECLINE_THRESHOLD",
        "LOAN_DESK_MAYBE_THRESHOLD",
    }


def test_the_pod_runs_unprivileged(manifests):
    pod = manifests["deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    [container] = pod["containers"]
    assert container["securityContext"] == {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                                            "capabilities": {"drop": ["ALL"]}}  # fmt: skip
    # what BentoML writes goes to /tmp, a volume of the pod's own (served so in test_service.py)
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]
    assert {"name": "BENTOML_HOME", "value": "/tmp/bentoml"} in container["env"]


def test_service_and_autoscaler_point_at_the_deployment(manifests):
    deployment = manifests["deployment"]
    assert (
        manifests["service"]["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    assert manifests["service"]["spec"]["ports"][0]["targetPort"] == "http"
    target = manifests["hpa"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert manifests["hpa"]["spec"]["minReplicas"] <= manifests["hpa"]["spec"]["maxReplicas"]


def test_no_manifests_when_not_wanted(bake):
    project = bake(train_on_generate="no", kubernetes="no")
    assert not (project.path / "k8s").exists()
    assert project.run("make", "deploy", check=False).returncode != 0


def test_makefile_targets(bake):
    project = bake(train_on_generate="no")
    targets = ["install", "train", "promote", "serve", "test", "lint", "bench", "export", "containerize", "push",
               "deploy"]  # fmt: skip
    commands = project.run("make", "-n", *targets, "TAG=credit_risk_service_model:v1", "VERSION=v2")
    assert commands.stdout.splitlines() == [
        "pip install -r requirements.txt",
        "python train.py",
        "python -m scoring.model_store promote credit_risk_service_model:v1",
        "bentoml serve --port 3000",
        "python -m pytest",
        "ruff check . && ruff format --check .",
        "python benchmarks/load_test.py",
        "bentoml build",
        f'bentoml export credit_risk_service:latest "{project.path}/service.bento"',
        "bentoml containerize credit_risk_service:latest --backend docker --image-tag credit_risk_service:latest "
        "--image-tag credit_risk_service:v2",
        "docker push credit_risk_service:latest && docker push credit_risk_service:v2",
        "kubectl apply -f k8s/",
    ]


@pytest.mark.parametrize(
    ("docker_image", "repository"),
    [("registry.example.com:5000/team/loan:1.2", "registry.example.com:5000/team/loan"),
     ("registry.example.com:5000/loan", "registry.example.com:5000/loan")],
)  # fmt: skip
def test_containerize_tags_the_image_the_deployment_runs_and_the_bento_version(bake, docker_image, repository):
    """Without a Docker daemon: podman and buildah build and push without one."""
    project = bake(train_on_generate="no", docker_image=docker_image)
    commands = project.run("make", "-n", "containerize", "push", "BACKEND=podman", "VERSION=v2").stdout.splitlines()
    assert commands[1:] == [
        f"bentoml containerize credit_risk_service:latest --backend podman --image-tag {docker_image} "
        f"--image-tag {repository}:v2",
        f"podman push {docker_image} && podman push {repository}:v2",
    ]
    deployment = yaml.safe_load((project.path / "k8s" / "deployment.yaml").read_text())
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == docker_image


def test_make_version_is_the_latest_bento_version(bake):
    project = bake()
    tag = project.run(sys.executable, "-m", "bentoml", "build", "--output", "tag").stdout.strip().splitlines()[-1]
    version = tag.rpartition(":")[2]
    commands = project.run("make", "-n", "push").stdout
    assert commands.strip() == f"docker push credit_risk_service:latest && docker push credit_risk_service:{version}"


def test_ci_workflow_installs_trains_tests_and_builds(bake):
    project = bake(train_on_generate="no")
    workflow = yaml.safe_load((project.path / ".github/workflows/ci.yml").read_text())
    steps = workflow["jobs"]["test-and-build"]["steps"]
    assert steps[1]["with"]["python-version"] == "3.11"
    runs = [step["run"] for step in steps if "run" in step]
    assert runs == [
        "pip install -r requirements.txt",
        "ruff check . && ruff format --check .",
        "python train.py",
        "python -m pytest",
        "bentoml build",
    ]


def git(*command: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *command], cwd=cwd, check=True)


def test_cruft_update_brings_template_changes_and_keeps_the_served_model(tmp_path):
    """cruft re-runs the post-gen hook on every update: it must not train, nor touch what the project serves."""
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE_DIR, template, ignore=shutil.ignore_patterns(".git", ".venv", "*cache*", "__pycache__"))
    git("init", "-q", cwd=template)
    git("add", "-A", cwd=template)
    git("commit", "-qm", "template", cwd=template)
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml_home")}

    def run(*command: str, cwd: Path) -> subprocess.CompletedProcess:
        return subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True, text=True)

    answers = json.dumps({"project_name": "Cruft Made"})
    created = run(sys.executable, "-m", "cruft", "create", str(template), "--no-input", "--extra-context", answers,
                  cwd=tmp_path)  # fmt: skip
    assert "not trained here" in created.stdout
    project = tmp_path / "cruft-made"
    context = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]
    assert context["project_slug"] == "cruft-made"
    answers = json.loads((project / ".cookiecutter.json").read_text())["default_context"]
    assert answers == {key: value for key, value in context.items() if not key.startswith("_")}, "the same answers"
    run(sys.executable, "train.py", cwd=project)
    served = (project / "served_model.txt").read_text()
    git("init", "-q", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-qm", "project", cwd=project)

    readme = template / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text() + "\nA later template change.\n")
    git("commit", "-qam", "a template change", cwd=template)
    assert subprocess.run([sys.executable, "-m", "cruft", "check"], cwd=project, env=env).returncode != 0
    run(sys.executable, "-m", "cruft", "update", "--skip-apply-ask", cwd=project)

    assert "A later template change." in (project / "README.md").read_text()
    assert (project / "served_model.txt").read_text() == served
    models = json.loads(run(sys.executable, "-m", "bentoml", "models", "list", "-o", "json", cwd=project).stdout)
    assert [model["tag"] for model in models] == [served.strip()], "the update trained nothing"
    assert run(sys.executable, "-m", "cruft", "check", cwd=project).returncode == 0
