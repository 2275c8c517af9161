"""Thresholds and labels overridden at serve time, without re-training or re-building."""

import subprocess
import sys

import pytest
from conftest import PROJECT_DIR
from live_service import classify, running_service

from scoring import settings

pytestmark = pytest.mark.own_server


def test_environment_overrides_reach_the_running_service(serve_env, examples):
    declined = examples[settings.DECLINED_LABEL]
    env = {
        **serve_env,
        f"{settings.ENV_PREFIX}DECLINE_THRESHOLD": "0.999999",
        f"{settings.ENV_PREFIX}MAYBE_THRESHOLD": "0.999998",
        f"{settings.ENV_PREFIX}APPROVED_LABEL": "GRANTED",
    }
    with running_service(PROJECT_DIR, env) as url:
        decision = classify(url, declined).json()
    assert decision["probability"] < 0.999998  # declined under the generated thresholds, approved here
    assert decision["status"] == "GRANTED"
    assert decision["reasons"] == []  # an approval gives none


def test_max_reasons_caps_the_reasons_and_zero_turns_them_off(serve_env, examples):
    declined = examples[settings.DECLINED_LABEL]
    for limit in (1, 0):
        with running_service(PROJECT_DIR, {**serve_env, f"{settings.ENV_PREFIX}MAX_REASONS": str(limit)}) as url:
            decision = classify(url, declined).json()
        assert decision["status"] == settings.DECLINED_LABEL
        assert len(decision["reasons"]) == limit


def test_invalid_override_stops_the_service_with_the_variable_named(serve_env):
    env = {**serve_env, f"{settings.ENV_PREFIX}DECLINE_THRESHOLD": "2"}
    result = subprocess.run(
        [sys.executable, "-m", "bentoml", "serve", "--port", "0"],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert f"{settings.ENV_PREFIX}DECLINE_THRESHOLD: Input should be less than 1" in result.stderr
