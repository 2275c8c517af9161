import os
import subprocess
import sys
from pathlib import Path

import pytest
from live_service import running_service

PROJECT_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def serve_env(tmp_path_factory) -> dict[str, str]:
    """Environment with a throw-away BENTOML_HOME holding a freshly trained model."""
    env = {**os.environ, "BENTOML_HOME": str(tmp_path_factory.mktemp("bentoml_home"))}
    subprocess.run([sys.executable, "train.py"], cwd=PROJECT_DIR, env=env, check=True)
    return env


@pytest.fixture(scope="session")
def service_url(serve_env) -> str:
    with running_service(PROJECT_DIR, serve_env) as url:
        yield url
