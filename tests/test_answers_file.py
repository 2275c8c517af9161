"""Answers files: `cookiecutter --config-file answers.yaml`, the answers under `default_context:`.

YAML reads unquoted yes/no/on/off as booleans and 3.10 as the number 3.1, and cookiecutter only warns about a
choice it cannot apply, then ignores it and every answer after it: each case works or is refused in one line.
"""

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import TEMPLATE_DIR, run_cookiecutter

TEMPLATE_DEFAULTS = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))


def settings(project) -> dict:
    """The constants of a generated project's scoring/settings.py."""
    tree = ast.parse((project / "scoring" / "settings.py").read_text(encoding="utf-8"))
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)}


def test_yes_no_choices_and_numbers_from_an_answers_file_are_applied(tmp_path):
    answers = textwrap.dedent("""\
        default_context:
          framework: lightgbm
          kubernetes: no
          train_on_generate: off
          decline_threshold: 0.6
          approved_label: "yes"
    """)
    result = run_cookiecutter(tmp_path, answers_file=answers)
    assert result.returncode == 0, result.stdout + result.stderr
    project = tmp_path / "newout" / "credit-risk-service"
    assert "Project created; train with" in result.stdout, "train_on_generate: off"
    assert not (tmp_path / "bentoml_home" / "models").exists()
    assert not (project / "k8s").exists()
    assert "No k8s/ manifests" in (project / "Makefile").read_text()
    expected = {"FRAMEWORK": "lightgbm", "DECLINE_THRESHOLD": 0.6, "APPROVED_LABEL": "yes"}
    assert expected.items() <= settings(project).items()


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("approved_label: yes", "approved_label: YAML read True, not text: quote the answer in the answers file"),
        ("python_version: 3.10", "python_version: YAML read 3.1, not text: quote the answer in the answers file"),
        ("declined_label: 1", "declined_label: YAML read 1, not text: quote the answer in the answers file"),
        ("framework: foo", "framework: 'foo' is not one of xgboost, lightgbm, sklearn, catboost"),
        ("kubernetes: maybe", "kubernetes: 'maybe' is not yes or no"),
        ("train_on_generate: 2", "train_on_generate: 2 is not yes or no"),
        (
            "approved_label: \"{{ cycler.__init__.__globals__.os.system('touch MARKER') }}\"",
            "approved_label: must not contain Jinja syntax ({{, {%, {#): answers are text, not templates",
        ),
    ],
)
def test_an_answer_the_file_gets_wrong_is_refused_in_one_line(tmp_path, answer, problem):
    result = run_cookiecutter(tmp_path, answers_file=f"default_context:\n  {answer}\n  maybe_label: LATER\n")
    assert result.returncode != 0
    assert result.stdout.splitlines() == [f"ERROR: {problem}"]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "newout").exists()
    assert not (tmp_path / "MARKER").exists()


def tree(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def test_a_project_keeps_its_answers_and_is_regenerated_from_them(bake, tmp_path):
    """.cookiecutter.json, given to `cookiecutter --config-file` as it is, makes the same project again."""
    answers = {"project_name": 'Zoë\'s "Prêt" 😀', "approved_label": "yes", "maybe_threshold": "0.25",
               "framework": "lightgbm", "kubernetes": "no", "train_on_generate": "no"}  # fmt: skip
    project = bake(**answers)
    kept = json.loads((project.path / ".cookiecutter.json").read_text(encoding="utf-8"))
    assert kept["template_version"] == TEMPLATE_DEFAULTS["_template_version"]
    assert kept["default_context"] == {key: value for key, value in TEMPLATE_DEFAULTS.items() if not key[0] == "_"} | {
        **answers, "project_slug": "zoe-s-pret", "service_name": "zoe_s_pret", "model_name": "zoe_s_pret_model",
        "docker_image": "zoe_s_pret:latest", "use_case": "credit_risk", "kubernetes": False,
        "train_on_generate": False,
    }  # fmt: skip
    env = {**os.environ, "HOME": str(tmp_path), "TMPDIR": str(tmp_path), "BENTOML_HOME": str(tmp_path / "store")}
    command = [sys.executable, "-m", "cookiecutter", str(TEMPLATE_DIR), "--no-input", "--config-file",
               str(project.path / ".cookiecutter.json"), "-o", str(tmp_path / "again")]  # fmt: skip
    subprocess.run(command, cwd=tmp_path, env=env, check=True, capture_output=True)
    assert tree(tmp_path / "again" / "zoe-s-pret") == tree(project.path)
