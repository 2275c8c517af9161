"""Answers files: `cookiecutter --config-file answers.yaml`, the answers under `default_context:`.

YAML reads unquoted yes/no/on/off as booleans and 3.10 as the number 3.1, and cookiecutter only warns about a
choice it cannot apply, then ignores it and every answer after it: each case works or is refused in one line.
"""

import ast
import textwrap

import pytest
from conftest import run_cookiecutter


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
