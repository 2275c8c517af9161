"""Invalid answers stop generation before anything is written, with a line naming the field."""

import pytest


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"decline_threshold": "high"}, "decline_threshold: 'high' is not a number"),
        ({"decline_threshold": "1.5"}, "decline_threshold: 1.5 must be between 0 and 1"),
        ({"maybe_threshold": "0"}, "maybe_threshold: 0 must be between 0 and 1"),
        ({"maybe_threshold": "nan"}, "maybe_threshold: nan must be between 0 and 1"),
        ({"maybe_threshold": "0.6"}, "maybe_threshold: 0.6 must be lower than decline_threshold (0.5)"),
        ({"maybe_threshold": "0.5"}, "maybe_threshold: 0.5 must be lower than decline_threshold"),
        ({"project_slug": "Credit Risk"}, "project_slug: 'Credit Risk' is not a valid BentoML name"),
        ({"service_name": "-svc"}, "service_name: '-svc' is not a valid BentoML name"),
        ({"model_name": "CreditModel"}, "model_name: 'CreditModel' is not a valid BentoML name"),
        ({"model_name": "a" * 64}, "model_name:"),
        ({"maybe_label": ""}, "maybe_label: must not be empty"),
        ({"approved_label": "  "}, "approved_label: must not be empty"),
        ({"approved_label": "DECLINED"}, "approved_label: 'DECLINED' is already the declined_label"),
        ({"python_version": "2.7"}, "python_version: '2.7' must be one of 3.9 to 3.13"),
        ({"docker_image": "my image"}, "docker_image: 'my image' is not an image reference"),
    ],
)
def test_invalid_answer_stops_generation(cookies, capfd, answers, message):
    result = cookies.bake(extra_context={"train_on_generate": "no", **answers})
    assert result.exit_code != 0
    assert result.project_path is None or not result.project_path.exists()
    assert message in capfd.readouterr().err


def test_every_problem_is_reported_at_once(cookies, capfd):
    result = cookies.bake(extra_context={"decline_threshold": "x", "maybe_label": "", "model_name": "A"})
    assert result.exit_code != 0
    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("ERROR:")]
    assert [error.split(":")[1].strip() for error in errors] == ["model_name", "decline_threshold", "maybe_label"]
