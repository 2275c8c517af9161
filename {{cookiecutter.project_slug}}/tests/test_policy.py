import pytest
from pydantic import ValidationError

from scoring import settings
from scoring.policy import DecisionPolicy, load_policy

DECLINE = settings.DECLINE_THRESHOLD


@pytest.fixture
def policy() -> DecisionPolicy:
    return DecisionPolicy()


def test_defaults_are_the_generated_answers(policy):
    assert policy.decline_threshold == settings.DECLINE_THRESHOLD
    assert policy.maybe_threshold == settings.MAYBE_THRESHOLD


@pytest.mark.parametrize(
    ("probability", "label"),
    [
        (0.0, settings.APPROVED_LABEL),
        (settings.MAYBE_THRESHOLD, settings.APPROVED_LABEL),
        (settings.MAYBE_THRESHOLD + 1e-9, settings.MAYBE_LABEL),
        (settings.DECLINE_THRESHOLD, settings.MAYBE_LABEL),
        (settings.DECLINE_THRESHOLD + 1e-9, settings.DECLINED_LABEL),
        (1.0, settings.DECLINED_LABEL),
    ],
)
def test_decision_at_the_boundaries(policy, probability, label):
    assert policy.decide(probability) == label


@pytest.mark.parametrize("probability", [float("nan"), -0.1, 1.1])
def test_what_is_no_probability_gets_no_decision(policy, probability):
    with pytest.raises(ValueError, match="not a probability"):
        policy.decide(probability)


def test_environment_overrides_thresholds_and_labels(monkeypatch):
    monkeypatch.setenv(f"{settings.ENV_PREFIX}DECLINE_THRESHOLD", "0.9")
    monkeypatch.setenv(f"{settings.ENV_PREFIX}MAYBE_THRESHOLD", "0.8")
    monkeypatch.setenv(f"{settings.ENV_PREFIX}APPROVED_LABEL", "OK")
    policy = DecisionPolicy()
    assert (policy.decide(0.85), policy.decide(0.5)) == (settings.MAYBE_LABEL, "OK")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DECLINE_THRESHOLD", "high", "decline_threshold"),
        ("DECLINE_THRESHOLD", "1.5", "decline_threshold"),
        ("MAYBE_THRESHOLD", "0", "maybe_threshold"),
        ("MAYBE_THRESHOLD", "0.99", f"maybe_threshold 0.99 must be lower than decline_threshold {DECLINE}"),
        ("MAYBE_LABEL", " ", "maybe_label"),
        ("MAYBE_LABEL", settings.APPROVED_LABEL, "labels must differ"),
    ],
)
def test_invalid_overrides_are_rejected(monkeypatch, variable, value, message):
    monkeypatch.setenv(f"{settings.ENV_PREFIX}{variable}", value)
    with pytest.raises(ValidationError, match=message):
        DecisionPolicy()


def test_a_rule_across_two_variables_names_both_and_their_values(monkeypatch):
    monkeypatch.setenv(f"{settings.ENV_PREFIX}DECLINE_THRESHOLD", "0.2")
    monkeypatch.setenv(f"{settings.ENV_PREFIX}MAYBE_THRESHOLD", "0.25")
    with pytest.raises(SystemExit) as stopped:
        load_policy()
    assert str(stopped.value) == (
        "invalid decision policy: maybe_threshold 0.25 must be lower than decline_threshold 0.2 "
        f"({settings.ENV_PREFIX}MAYBE_THRESHOLD, {settings.ENV_PREFIX}DECLINE_THRESHOLD)"
    )


def test_load_policy_names_the_bad_variable(monkeypatch):
    monkeypatch.setenv(f"{settings.ENV_PREFIX}MAYBE_THRESHOLD", "abc")
    with pytest.raises(SystemExit, match=f"{settings.ENV_PREFIX}MAYBE_THRESHOLD: Input should be a valid number"):
        load_policy()
