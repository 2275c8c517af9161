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
def serve_env(tmp_path_factory) -> dict[str, str]:
    """Environment with a throw-away BENTOML_HOME holding a freshly trained model, served by tag:
    the project's own served_model.txt (and model store) is not touched."""
    home = str(tmp_path_factory.mktemp("bentoml_home"))
    env = {**os.environ, "BENTOML_HOME": home, TAG_OVERRIDE: f"{settings.MODEL_NAME}:latest"}
    subprocess.run([sys.executable, "train.py", "--no-promote"], cwd=PROJECT_DIR, env=env, check=True)
    return env


@pytest.fixture(scope="session")
def service_url(serve_env) -> str:
    with running_service(PROJECT_DIR, serve_env) as url:
        yield url


@pytest.fixture(scope="session")
def examples(service_url) -> dict[str, dict]:
    """A typical validation record for each status the service gives (chosen by the service, not by hand)."""
    return band_examples(service_url, validation_records())
