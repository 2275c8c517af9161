"""Invalid answers stop generation before anything is created, with one line naming the field."""

import pytest
from conftest import left_behind, run_cookiecutter

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
