"""Invalid answers stop generation before anything is created, with one line naming the field."""

import os
import subprocess
import sys

import pytest
from conftest import TEMPLATE_DIR, left_behind, run_cookiecutter

# An answer that, rendered as Jinja, would run a shell command (cookiecutter renders answers as templates).
RUNS_A_COMMAND = "{{ cycler.__init__.__globals__.os.system('touch MARKER') }}"


def problems(result) -> list[str]:
    return [line for line in str(result.exception).splitlines() if line.startswith("ERROR:")]


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"decline_threshold": "high"}, "decline_threshold: 'high' is not a number"),
        ({"decline_threshold": "1.5"}, "decline_threshold: 1.5 must be between 0 and 1"),
        ({"maybe_threshold": "0"}, "maybe_threshold: 0 must be between 0 and 1"),
        ({"maybe_threshold": "nan"}, "maybe_threshold: 'nan' is not a number"),
        ({"maybe_threshold": "0.6"}, "maybe_threshold: 0.6 must be lower than decline_threshold (0.5)"),
        ({"maybe_threshold": "0.5"}, "maybe_threshold: 0.5 must be lower than decline_threshold"),
        ({"project_slug": "Credit Risk"}, "project_slug: 'Credit Risk' is not a valid BentoML name"),
        ({"service_name": "-svc"}, "service_name: '-svc' must be 1-63 lowercase letters"),
        ({"model_name": "CreditModel"}, "model_name: 'CreditModel' is not a valid BentoML name"),
        ({"model_name": "a" * 64}, "model_name:"),
        ({"maybe_label": ""}, "maybe_label: must not be empty"),
        ({"approved_label": "  "}, "approved_label: must not be empty"),
        ({"approved_label": "DECLINED"}, "approved_label: 'DECLINED' is already the declined_label"),
        ({"decline_threshold": "\u0660.\u0666"}, "decline_threshold: '\u0660.\u0666' is not a number"),  # Arabic-Indic
        ({"maybe_threshold": "\u0660.\u0663"}, "maybe_threshold: '\u0660.\u0663' is not a number"),
        ({"service_name": "1abc"}, "service_name: '1abc' must be 1-63 lowercase letters, digits or '_', starting with"),
        ({"project_name": "\U0001f600 !!"}, "project_name: '\U0001f600 !!' has no letter or digit to derive"),
        ({"project_name": 'Loan\ndependencies = ["evil-pkg"]'}, "project_name: must not contain control characters"),
        ({"approved_label": "OK\u2028"}, "approved_label: must not contain control characters"),
        ({"author": "Jo\ud83d"}, "author: must not contain control characters"),  # a lone surrogate
        ({"python_version": "2.7"}, "python_version: '2.7' must be one of 3.11, 3.12, 3.13, 3.14"),
        ({"python_version": "3.9"}, "python_version: '3.9' must be one of 3.11, 3.12, 3.13, 3.14"),
        ({"python_version": "3.10"}, "(numpy 2.4.6 needs 3.11 or newer)"),
        ({"python_version": "3.15"}, "python_version: '3.15' must be one of"),
        ({"docker_image": "my image"}, "docker_image: 'my image' is not an image reference"),
        ({"docker_image": "r\u00e9gistry/loan"}, "docker_image: 'r\u00e9gistry/loan' is not an image reference"),
        ({"docker_image": "registry/loan@sha256:ab12"}, "docker_image: 'registry/loan@sha256:ab12' is a digest"),
        ({"target_column": "y"}, "target_column: only used with data_path"),
        ({"protected_columns": "age"}, "protected_columns: only used with data_path"),
    ],
)
def test_invalid_answer_stops_generation_before_anything_is_created(cookies, tmp_path, answers, message):
    result = cookies.bake(extra_context={"train_on_generate": "no", **answers})
    assert result.exit_code != 0
    assert any(message in problem for problem in problems(result)), result.exception
    assert not left_behind(tmp_path)


def test_every_problem_is_reported_at_once(cookies):
    result = cookies.bake(extra_context={"decline_threshold": "x", "maybe_label": "", "model_name": "A"})
    assert result.exit_code != 0
    assert [problem.split(":")[1].strip() for problem in problems(result)] == [
        "model_name",
        "decline_threshold",
        "maybe_label",
    ]


def test_the_command_line_prints_one_line_per_problem_and_no_traceback(tmp_path):
    result = run_cookiecutter(tmp_path, "decline_threshold=2", "approved_label=MAYBE")
    assert result.returncode != 0
    assert result.stdout.splitlines() == [
        "ERROR: decline_threshold: 2 must be between 0 and 1 (exclusive)",
        "ERROR: approved_label: 'MAYBE' is already the maybe_label; the three labels must differ",
    ]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "newout").exists()


@pytest.mark.parametrize("slug", ["..", ".", "a/../..", "../x", "a/b"])
def test_a_slug_that_is_not_a_new_folder_is_refused_and_nothing_is_deleted(tmp_path, slug):
    """With `-o newout project_slug=..`, cookiecutter's clean-up after a failure removed newout/.., the user's cwd."""
    (tmp_path / "sentinel").write_text("the user's file")
    result = run_cookiecutter(tmp_path, f"project_slug={slug}")
    assert result.returncode != 0
    assert [line.split(":")[:2] for line in result.stdout.splitlines()] == [["ERROR", " project_slug"]], result.stdout
    assert "Traceback" not in result.stderr
    assert (tmp_path / "sentinel").read_text() == "the user's file"
    assert not (tmp_path / "newout").exists()


@pytest.mark.parametrize("field", ["approved_label", "project_name", "__k8s_name"])
def test_jinja_in_an_answer_is_refused_and_never_run(tmp_path, field):
    result = run_cookiecutter(tmp_path, f"{field}={RUNS_A_COMMAND}")
    assert result.returncode != 0
    assert result.stdout.splitlines() == [
        f"ERROR: {field}: must not contain Jinja syntax ({{{{, {{%, {{#): answers are text, not templates"
    ]
    assert not (tmp_path / "MARKER").exists()
    assert not (tmp_path / "newout").exists()


def prompted(tmp_path, *lines: str) -> subprocess.CompletedProcess:
    """cookiecutter at its prompts, answered with `lines` (an empty line takes the default), from tmp_path."""
    config = tmp_path / "config.yaml"
    config.write_text(f"cookiecutters_dir: {tmp_path / 'cookiecutters'}\nreplay_dir: {tmp_path / 'replay'}\n")
    command = [sys.executable, "-m", "cookiecutter", str(TEMPLATE_DIR), "--config-file", str(config)]
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml_home"), "PWD": str(tmp_path)}
    return subprocess.run(command, cwd=tmp_path, env=env, input="\n".join(lines) + "\n", capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_a_bad_answer_at_a_prompt_is_refused_at_once_and_asked_again(tmp_path):
    defaults = [""] * 7  # data_path (none: its four questions are skipped), the example, names, framework
    result = prompted(tmp_path, *defaults, "abc", "0.6", "0.7", "0.2", "", "", "", "n", "", "", "", "")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "ERROR: decline_threshold: 'abc' is not a number such as 0.5",
        "ERROR: maybe_threshold: 0.7 must be lower than decline_threshold (0.6)",
    ]
    assert result.stdout.count("Decline when") == 2 and "With a CSV" not in result.stdout
    settings = (tmp_path / "credit-risk-service" / "scoring" / "settings.py").read_text()
    assert "DECLINE_THRESHOLD = 0.6\n" in settings and "MAYBE_THRESHOLD = 0.2\n" in settings


def test_a_project_from_a_csv_is_named_after_it_and_asked_no_example_question(tmp_path):
    data = tmp_path / "telco_churn.csv"
    rows = [f"{i},{'ab'[i % 2]},{'Yes' if i % 3 else 'No'}\n" for i in range(90)]
    data.write_text("tenure,plan,churn\n" + "".join(rows))
    csv_answers = [str(data), "churn", "Maybe", "Yes", "", ""]  # a wrong positive_class, asked again
    result = prompted(tmp_path, *csv_answers, *[""] * 10, "n", "", "", "", "")
    assert result.returncode == 0, result.stderr
    wrong = "ERROR: positive_class: 'Maybe' is not a value of churn; its values are No, Yes"
    assert result.stderr.splitlines() == [wrong]
    assert "Without a CSV" not in result.stdout
    settings = (tmp_path / "telco-churn" / "scoring" / "settings.py").read_text()
    assert 'PROJECT_NAME = "Telco Churn"' in settings and 'MODEL_NAME = "telco_churn_model"' in settings
