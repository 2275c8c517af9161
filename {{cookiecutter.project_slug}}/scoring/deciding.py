"""Encoded records -> decisions: the probability, the policy's status and, on every answer that is not an
approval, its principal reasons. The one path of the service and of batch scoring."""

from typing import NamedTuple

import numpy as np

from scoring.model_store import Scorer
from scoring.policy import DecisionPolicy


class Decided(NamedTuple):
    probabilities: list[float]
    statuses: list[str]
    reasons: list[list[dict]]  # [] for an approval


def decide(scorer: Scorer, policy: DecisionPolicy, features: np.ndarray) -> Decided:
    """Reasons are computed for the rows that need them only, together. No rows: no decisions."""
    if not len(features):
        return Decided([], [], [])
    probabilities = scorer.probabilities(features).tolist()
    statuses, explained = policy.decide_all(probabilities)
    reasons: list[list[dict]] = [[] for _ in probabilities]
    if explained:
        for position, principal in zip(explained, scorer.reasons(features[explained], policy.max_reasons), strict=True):
            reasons[position] = principal
    return Decided(probabilities, statuses, reasons)
