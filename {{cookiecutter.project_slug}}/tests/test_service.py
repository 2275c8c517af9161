"""Requests against the real service, started with `bentoml serve` on a free port."""

import httpx
import pytest
from live_service import LOW_RISK, RISK_LADDER, classify

from credit_scoring import settings
from credit_scoring.policy import DecisionPolicy


def test_statuses_follow_the_policy(service_url):
    policy = DecisionPolicy()
    decisions = [classify(service_url, application).json() for application in RISK_LADDER]
    probabilities = [decision["probability"] for decision in decisions]
    assert probabilities == sorted(probabilities)
    for decision in decisions:
        assert 0 <= decision["probability"] <= 1
        assert decision["status"] == policy.decide(decision["probability"])
        assert decision["model"].startswith(f"{settings.MODEL_NAME}:")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({k: v for k, v in LOW_RISK.items() if k != "income"}, "income"),
        ({**LOW_RISK, "home": "castle"}, "home"),
        ({**LOW_RISK, "age": "old"}, "age"),
        ({**LOW_RISK, "amount": -100}, "amount"),
        ({**LOW_RISK, "nickname": "Bob"}, "nickname"),
    ],
)
def test_invalid_application_gets_400_naming_the_field(service_url, body, field):
    response = classify(service_url, body)
    assert response.status_code == 400
    assert field in response.text
    assert classify(service_url, LOW_RISK).status_code == 200


def test_openapi_shows_an_example_application(service_url):
    spec = httpx.get(f"{service_url}/docs.json", timeout=10).text
    assert '"freelance"' in spec
