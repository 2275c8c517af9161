"""Generated projects, trained by the post-gen hook, served for real and built into a bento."""

import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml
from conftest import TEMPLATE_DIR
from live_service import band_examples, classify, running_server, running_service

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
    bands = metadata["validation_bands"]
    assert [(band["status"], band["probability"]) for band in bands] == [
        ("REJECT", "above 0.9"),
        ("REVIEW", "above 0.1, up to 0.9"),
        ("ACCEPT", "0.1 or below"),
    ]
    assert sum(band["rows"] for band in bands) == metadata["validation_rows"]
    assert round(sum(band["share_pct"] for band in bands), 1) == 100.0
    assert metadata["target"] == "status = defaulted"
    assert metadata["package_versions"]["bentoml"] == metadata["package_versions"]["bentoml"].strip()
    assert set(metadata["package_versions"]) >= {"bentoml", "numpy", "xgboost-cpu"}


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
        dockerfile = bento.extractfile("./env/docker/Dockerfile").read().decode()
        description = bento.extractfile("./README.md").read().decode()
    model_tag = manifest["services"][0]["models"][0]["tag"]
    assert model_tag.startswith("credit_risk_service_model:")
    model_dir = "models/" + model_tag.replace(":", "/")
    expected = {"env/docker/Dockerfile", "apis/openapi.yaml", "src/service.py", "src/contract.yaml",
                "src/scoring/policy.py", f"{model_dir}/saved_model.ubj", f"{model_dir}/custom_objects.pkl"}  # fmt: skip
    assert expected <= members
    pinned = yaml.safe_load((project.path / "bentofile.yaml").read_text())["python"]["packages"]
    assert set(pinned) <= set(requirements.split()), "the bento installs the versions the model was trained with"
    assert not [name for name in members if name.startswith(("src/tests", "src/use_cases"))]
    assert "ORT_DISABLE_TELEMETRY" in dockerfile  # onnxruntime sends no usage reports from the image
    assert description.startswith("Credit Risk Service: a decision service.") and "train.py" not in description


def test_training_at_generation_writes_the_model_card_the_readme_links(bake):
    project = bake()
    card = (project.path / "MODEL_CARD.md").read_text()
    assert "[MODEL_CARD.md](MODEL_CARD.md)" in (project.path / "README.md").read_text()
    assert card_tag(project.path) == served_tag_of(project.path)
    metadata = project.model_info()["metadata"]
    assert f"**{metadata['validation_auc']:.3f}**" in card
    for band in metadata["validation_bands"]:
        assert f"| {band['status']} | {band['probability']} | {band['rows']:,} | {band['share_pct']:.1f} % |" in card
    for plot in ("roc.png", "scores.png"):
        assert f"](model_card/{plot})" in card
        assert (project.path / "model_card" / plot).read_bytes().startswith(b"\x89PNG")


def test_the_report_prints_what_other_thresholds_do(bake):
    project = bake()
    table = project.run(sys.executable, "-m", "scoring.report", "--decline", "0.6", "--maybe", "0.35").stdout
    rows = [line.rsplit(maxsplit=3) for line in table.splitlines()[2:5]]
    assert "DECLINED  above 0.6 " in table and "MAYBE     above 0.35, up to 0.6 " in table
    assert sum(int(row[1].replace(",", "")) for row in rows) == project.model_info()["metadata"]["validation_rows"]
    assert round(sum(float(row[2].rstrip("%")) for row in rows), 1) == 100.0


def bash_block(document: Path, first_command: str) -> str:
    """The document's ```bash block whose first line starts with `first_command`, as written."""
    blocks = re.findall(r"^```bash\n(.*?)^```", document.read_text(encoding="utf-8"), re.DOTALL | re.MULTILINE)
    [block] = [block for block in blocks if block.startswith(first_command)]
    return block


def decisions(url: str, records: list[dict]) -> list[dict]:
    """The service's answers to `records`, without their decision ids (each answer has its own)."""
    response = httpx.post(f"{url}/classify_batch", json={"records": records}, timeout=60)
    response.raise_for_status()
    return [{key: value for key, value in answer.items() if key != "decision_id"} for answer in response.json()]


def assert_same_decisions(served: list[dict], expected: list[dict]) -> None:
    """The same answers, each reason's contribution within 1e-5: the bento, without shap, serves the framework's
    own attributions, which shap's compiled TreeSHAP (the project's own environment) gives within 1e-6."""

    def apart(answers: list[dict]) -> tuple[list[dict], list[float]]:
        without = [{**answer, "reasons": [{**reason, "contribution": None} for reason in answer["reasons"]]}
                   for answer in answers]  # fmt: skip
        return without, [reason["contribution"] for answer in answers for reason in answer["reasons"]]

    (served, mine), (expected, theirs) = apart(served), apart(expected)
    assert served == expected
    assert np.allclose(mine, theirs, atol=1e-5)


def megabytes(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink()) / 1e6


@pytest.mark.slow(minutes=1.5)
def test_exported_bento_serves_the_same_probabilities_from_a_clean_environment(bake, tmp_path):
    """The documented commands, run as written: export the bento (README), then, elsewhere, a fresh virtualenv with
    only the bento's own requirements, an empty store to import it into, and `bentoml serve` from that store
    (docs/deploy.md)."""
    project = bake()
    readme = project.path / "README.md"
    subprocess.run(["bash", "-euo", "pipefail", "-c", bash_block(readme, "bentoml build")], cwd=project.path,
                   env=project.env, check=True, capture_output=True)  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.move(project.path / "service.bento", elsewhere / "service.bento")

    *setup, serve = bash_block(project.path / "docs" / "deploy.md", "python3 -m venv").strip().splitlines()
    this_venv = {str(Path(sys.executable).parent), os.path.join(os.environ.get("VIRTUAL_ENV", "-"), "bin")}
    clean_env = {name: value for name, value in os.environ.items() if name not in ("VIRTUAL_ENV", "PYTHONPATH")}
    clean_env["PATH"] = os.pathsep.join(part for part in os.environ["PATH"].split(os.pathsep) if part not in this_venv)
    clean_env["BENTOML_HOME"] = str(tmp_path / "empty_store")
    try:
        subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(setup)], cwd=elsewhere, env=clean_env, check=True,
                       capture_output=True)  # fmt: skip
        installed = subprocess.run([elsewhere / ".venv/bin/python", "-m", "pip", "freeze"], env=clean_env,
                                   check=True, capture_output=True, text=True).stdout  # fmt: skip
        assert pins(installed) == pins((elsewhere / "bento-requirements.txt").read_text()), "nothing else"
        assert megabytes(elsewhere / ".venv") <= 500  # the image's packages (the README says the figure)

        records = [project.contract["example"], *project.validation_records(200)]
        with running_service(project.path, project.env) as url:
            expected = decisions(url, records)
        command = ["bash", "-c", f". .venv/bin/activate && {serve} --host 127.0.0.1 --port {{port}}"]
        with running_server(command, elsewhere, clean_env) as url:
            assert_same_decisions(decisions(url, records), expected)
        # As k8s/deployment.yaml runs the image: from the bento's folder, on a read-only root file system with
        # a writable /tmp holding BentoML's home (a mount namespace of its own stands for the container's).
        bento, writable = elsewhere / "bento", tmp_path / "writable"
        bento.mkdir()
        writable.mkdir()
        with tarfile.open(elsewhere / "service.bento") as archive:
            archive.extractall(bento, filter="data")
        read_only = (f"mount --make-rprivate / && mount --bind {writable} {writable} && mount -o remount,bind,ro / && "
                     f"exec {elsewhere}/.venv/bin/bentoml serve {bento} --host 127.0.0.1 --port {{port}}")  # fmt: skip
        container_env = {**clean_env, "BENTOML_HOME": str(writable / "bentoml"), "TMPDIR": str(writable)}
        (writable / "bentoml").mkdir()
        with running_server(["unshare", "--mount", "sh", "-c", read_only], bento, container_env) as url:
            assert_same_decisions(decisions(url, records), expected)
    finally:
        shutil.rmtree(elsewhere / ".venv", ignore_errors=True)  # a gigabyte


def pins(requirements: str) -> set[str]:
    """name==version lines, names normalized as pip compares them (PyYAML is pyyaml, pydantic_core pydantic-core)."""
    lines = [line.partition("==") for line in requirements.splitlines() if "==" in line]
    return {re.sub(r"[-_.]+", "-", name).lower() + "==" + version.strip() for name, _, version in lines}


EXPORT_OR_IMPORT_PATH = re.compile(r"bentoml (?:export \S+|import) (\S+)")


def test_every_documented_export_and_import_path_is_absolute(bake):
    """BentoML 1.4.40 reads a relative path from / (`bentoml export <tag> service.bento` wrote /service.bento)."""
    project = bake(train_on_generate="no")
    in_project = ("README.md", "Makefile", "docs/deploy.md")
    documents = [TEMPLATE_DIR / "README.md", *(project.path / name for name in in_project)]
    paths = [path for document in documents for path in EXPORT_OR_IMPORT_PATH.findall(document.read_text())]
    assert len(paths) >= 4
    assert all(path.startswith(('"$PWD/', '"$(CURDIR)/')) for path in paths), paths


def test_make_serve_takes_a_port(bake):
    project = bake()
    with running_server(["make", "serve", "PORT={port}"], project.path, project.env) as url:
        assert classify(url, project.contract["example"]).status_code == 200


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


def card_tag(project_dir: Path) -> str:
    """The model MODEL_CARD.md describes."""
    return re.match(r"# Model card: `(.*)`", (project_dir / "MODEL_CARD.md").read_text())[1]


def test_training_serves_the_new_model_and_promote_rolls_back(bake):
    project = bake(project_name="Rollback Desk")
    first = served_tag_of(project.path)
    assert card_tag(project.path) == first
    project.run(sys.executable, "train.py", "--seed", "7")
    second = served_tag_of(project.path)
    assert second != first and second.startswith("rollback_desk_model:")
    assert card_tag(project.path) == second
    project.run(sys.executable, "train.py", "--seed", "8", "--no-promote")
    assert card_tag(project.path) == second, "the card describes the served model, not the latest"
    project.run("make", "promote", f"TAG={first}")
    assert served_tag_of(project.path) == first
    assert card_tag(project.path) == first
    refused = project.run("make", "promote", "TAG=rollback_desk_model:nosuchversion", check=False)
    assert refused.returncode != 0 and "is not in the BentoML model store" in refused.stderr
    with running_service(project.path, project.env) as url:
        assert classify(url, project.contract["example"]).json()["model"] == first


@pytest.mark.parametrize(
    "answers",  # the default project runs every one of its tests, the custom one those that depend on the answers
    [
        pytest.param({}, id="default", marks=pytest.mark.slow(minutes=4.5)),
        pytest.param(CUSTOM, id="custom", marks=pytest.mark.slow(minutes=2)),
    ],
)
def test_generated_project_tests_pass(bake, answers):
    result = bake(**answers).own_tests(everything=answers == {})
    assert result.returncode == 0, result.stdout[-3000:]


CHROMIUM = shutil.which("chromium")  # Debian's, which .ci/run installs
# Chromium's own calls (updates, sync, field trials) would be refused by a closed network, or made: off.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update"]  # fmt: skip


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium to open the page with (.ci/run installs Debian's)")
def test_the_api_page_names_the_service_and_its_model_and_calls_no_one_else(bake):
    from playwright.sync_api import sync_playwright

    project = bake()
    with running_service(project.path, project.env) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page, requested = browser.new_page(), []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{url}/")
        page.wait_for_selector(".info .title", timeout=30_000)  # Swagger UI has read /docs.json
        title, description = page.inner_text(".info .title"), page.inner_text(".info .description")
        page_title = page.title()
        document = httpx.get(f"{url}/docs.json").json()
        browser.close()
    served = served_tag_of(project.path)
    assert page_title == "Credit Risk Service" and title.split() == ["Credit", "Risk", "Service", served, "OAS", "3.1"]
    assert project.contract["description"].split(".")[0] in description and "BentoML" not in description
    assert [address for address in requested if not address.startswith(f"{url}/")] == []  # no tag manager
    assert document["components"]["schemas"]["Decision"]["properties"]["status"]["enum"] == [
        "DECLINED", "MAYBE", "APPROVED"
    ]  # fmt: skip
