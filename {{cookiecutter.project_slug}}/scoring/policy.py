"""The decision rule: probability -> status label.

Thresholds and labels default to the answers given at generation (settings.py) and can be
overridden at serve time with environment variables named after settings.ENV_PREFIX, e.g.
``<PREFIX>DECLINE_THRESHOLD=0.6``. Invalid values stop the service at start-up.
"""

from typing import Annotated

from pydantic import Field, StringConstraints, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from scoring import settings

Threshold = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class DecisionPolicy(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=settings.ENV_PREFIX, frozen=True)

    decline_threshold: Threshold = settings.DECLINE_THRESHOLD
    maybe_threshold: Threshold = settings.MAYBE_THRESHOLD
    declined_label: Label = settings.DECLINED_LABEL
    maybe_label: Label = settings.MAYBE_LABEL
    approved_label: Label = settings.APPROVED_LABEL
    # principal reasons on each answer that is not an approval (0: none); ECOA notices name up to four
    max_reasons: int = Field(4, ge=0, le=20)

    @model_validator(mode="after")
    def _consistent(self) -> "DecisionPolicy":
        # Named as the environment sets them at serve time (the values may also be the generated defaults).
        prefix = settings.ENV_PREFIX
        if self.maybe_threshold >= self.decline_threshold:
            variables = f"{prefix}MAYBE_THRESHOLD, {prefix}DECLINE_THRESHOLD"
            raise ValueError(f"maybe_threshold {self.maybe_threshold} must be lower than decline_threshold "
                             f"{self.decline_threshold} ({variables})")  # fmt: skip
        labels = {"declined_label": self.declined_label, "maybe_label": self.maybe_label,
                  "approved_label": self.approved_label}  # fmt: skip
        if len(set(labels.values())) != len(labels):
            named = ", ".join(f"{prefix}{name.upper()}={label!r}" for name, label in labels.items())
            raise ValueError(f"the declined, maybe and approved labels must differ: {named}")
        return self

    def decide(self, probability: float) -> str:
        if not 0 <= probability <= 1:  # NaN too, which fails every comparison: it would have been approved
            raise ValueError(f"not a probability: {probability}")
        if probability > self.decline_threshold:
            return self.declined_label
        if probability > self.maybe_threshold:
            return self.maybe_label
        return self.approved_label

    def decide_all(self, probabilities: list[float]) -> tuple[list[str], list[int]]:
        """(the status of each probability; the positions of those that need reasons: all but approvals)."""
        statuses = [self.decide(probability) for probability in probabilities]
        if not self.max_reasons:
            return statuses, []
        return statuses, [i for i, status in enumerate(statuses) if status != self.approved_label]


def load_policy() -> DecisionPolicy:
    """The policy in force: generated defaults plus environment overrides, validated.

    A bad override raises SystemExit naming the environment variable, so the service stops at
    start-up instead of serving wrong decisions.
    """
    try:
        return DecisionPolicy()
    except ValidationError as error:
        problems = "; ".join(map(variable_problem, error.errors()))
        raise SystemExit(f"invalid decision policy: {problems}") from None


def variable_problem(problem: dict) -> str:
    """A pydantic-settings problem, named after the environment variable that caused it."""
    # A validator's own ValueError, without the "Value error, " pydantic puts before it.
    message = str(problem["ctx"]["error"]) if problem["type"] == "value_error" else problem["msg"]
    if not problem["loc"]:  # a rule across fields
        return message
    return f"{settings.ENV_PREFIX}{str(problem['loc'][0]).upper()}: {message}"
