import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from examples import validation_records
from live_service import band_examples, running_service

from scoring import settings
from scoring.model_store import TAG_OVERRIDE

PROJECT_DIR = Path(__file__).resolve().parents[1]
# contract.yaml as plain data, as a client of the service would read it.
CONTRACT = yaml.safe_load((PROJECT_DIR / "contract.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def contract() -> dict:
    return CONTRACT


@pytest.fixture(scope="session")
def model_card_dir(tmp_path_factory) -> Path:
    """Where the serve_env model's card is written (not the project's MODEL_CARD.md)."""
    return tmp_path_factory.mktemp("model_card")


@pytest.fixture(scope="session")
def serve_env(tmp_path_factory, model_card_dir) -> dict[str, str]:
    """Environment with a throw-away BENTOML_HOME holding a freshly trained model, served by tag:
    the project's own served_model.txt, model card and model store are not touched."""
    home = str(tmp_path_factory.mktemp("bentoml_home"))
    env = {**os.environ, "BENTOML_HOME": home, TAG_OVERRIDE: f"{settings.MODEL_NAME}:latest"}
    train = [sys.executable, "train.py", "--no-promote", "--model-card", str(model_card_dir)]
    subprocess.run(train, cwd=PROJECT_DIR, env=env, check=True)
    return env


@pytest.fixture(scope="session")
def service_url(serve_env) -> str:
    with running_service(PROJECT_DIR, serve_env) as url:
        yield url


@pytest.fixture(scope="session")
def examples(service_url) -> dict[str, dict]:
    """A typical validation record for each status the service gives (chosen by the service, not by hand)."""
    return band_examples(service_url, validation_records())


# What a script run by with_served_model starts with: the served model as the service loads it, and the
# validation rows' features.
SERVED_MODEL = """
import json, pickle, numpy as np
from examples import validation_records
from scoring import model_store
from scoring.model_store import framework
bento_model = model_store.served_model()
scorer = model_store.load(bento_model)
features = scorer.encoder.encode_records(validation_records())
"""


def with_served_model(serve_env: dict[str, str], script: str) -> dict:
    """Run `script`, after SERVED_MODEL, in the trained model's environment (its own BENTOML_HOME); what it
    printed, as JSON."""
    env = {**serve_env, "PYTHONPATH": f"{PROJECT_DIR}:{PROJECT_DIR / 'tests'}"}
    command = [sys.executable, "-c", SERVED_MODEL + script]
    output = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    assert output.returncode == 0, output.stderr
    return json.loads(output.stdout)
