import ast
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
import yaml

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
FRAMEWORKS = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())["framework"]
# Public reference CSVs, read in place, never copied. Resolved as the extension resolves data_path: a checkout
# (a git worktree) may reach them through a symlink.
SHARED_DATA = (TEMPLATE_DIR.parent / "shared" / "data").resolve()

# The generated project's test helpers (Jinja-free) serve baked projects here too.
sys.path.insert(0, str(TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / "tests"))


def run_cookiecutter(cwd: Path, *answers: str, answers_file: str = "") -> subprocess.CompletedProcess:
    """The `cookiecutter` command line, run in `cwd` with `--no-input -o newout`, the answers given as
    key=value and `answers_file` (YAML text) as the `default_context:` of a user config (--config-file)."""
    config = cwd / "answers.yaml"
    config.write_text(f"cookiecutters_dir: {cwd / 'cookiecutters'}\nreplay_dir: {cwd / 'replay'}\n{answers_file}")
    command = [sys.executable, "-m", "cookiecutter", str(TEMPLATE_DIR), "--no-input", "--config-file", str(config),
               "-o", "newout", *answers]  # fmt: skip
    (cwd / "tmp").mkdir(exist_ok=True)  # cookiecutter leaves the hook scripts it renders in TMPDIR
    env = {**os.environ, "TMPDIR": str(cwd / "tmp"), "BENTOML_HOME": str(cwd / "bentoml_home"), "PWD": str(cwd)}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)


def pins(requirements: str) -> dict[str, str]:
    """The name==version lines of a requirements file, as written."""
    return dict(re.findall(r"^([\w.-]+)==(\S+)$", requirements, re.MULTILINE))


def template_pins() -> dict[str, str]:
    """What the template's two commands install: requirements.txt, and requirements-test.txt for the tests."""
    return {name: version for file in ("requirements.txt", "requirements-test.txt")
            for name, version in pins((TEMPLATE_DIR / file).read_text()).items()}  # fmt: skip


def left_behind(tmp_path: Path) -> list[str]:
    """What bakes with pytest-cookies' `cookies` fixture (output in tmp_path/cookies/bakeNN) left there."""
    return [str(path) for bake_dir in (tmp_path / "cookies").iterdir() for path in bake_dir.iterdir()]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest tests first, longest first (`slow(minutes=...)`, as `--durations` shows them in CI):
    pytest-xdist hands the first tests out to its two workers in turn, so the longest never starts last and
    runs alone while the other worker idles."""
    items.sort(key=lambda item: -(slow.kwargs["minutes"] if (slow := item.get_closest_marker("slow")) else 0))


@pytest.fixture(scope="session", autouse=True)
def hook_scripts_in_pytest_tmp(tmp_path_factory):
    """Cookiecutter never deletes the hook scripts it renders to the temp dir: keep them in pytest's."""
    with mock.patch.object(tempfile, "tempdir", str(tmp_path_factory.mktemp("tmp"))):
        yield


@dataclass(frozen=True)
class Project:
    path: Path
    env: dict[str, str]  # the environment whose BENTOML_HOME holds this project's models

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(command, cwd=self.path, env=self.env, check=check, capture_output=True, text=True)

    @property
    def contract(self) -> dict:
        return yaml.safe_load((self.path / "contract.yaml").read_text(encoding="utf-8"))

    def own_tests(self, everything: bool = False) -> subprocess.CompletedProcess:
        """Run the project's own test suite. Its `own_server` tests (process lifecycle, serve-time settings)
        do not depend on the data or the framework: the default project runs them, the others skip them."""
        selection = [] if everything else ["-m", "not own_server"]
        return self.run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection, check=False)

    def setting(self, name: str):
        """A value of the project's scoring/settings.py (the answers it was generated with)."""
        settings = (self.path / "scoring" / "settings.py").read_text(encoding="utf-8")
        return ast.literal_eval(re.search(rf"^{name} = (.*)$", settings, re.MULTILINE)[1])

    def model_info(self, model_name: str | None = None) -> dict:
        model_name = model_name or self.setting("MODEL_NAME")
        output = self.run(sys.executable, "-m", "bentoml", "models", "get", f"{model_name}:latest", "-o", "json")
        return json.loads(output.stdout)

    def validation_records(self, limit: int = 300) -> list[dict]:
        """Rows the project's train.py held out, as requests carry them (the project's tests/examples.py)."""
        code = f"import json, examples; print(json.dumps(examples.validation_records({limit})))"
        env = {**self.env, "PYTHONPATH": os.pathsep.join([str(self.path), str(self.path / "tests")])}
        output = subprocess.run([sys.executable, "-c", code], cwd=self.path, env=env, check=True, capture_output=True)
        return json.loads(output.stdout)


@pytest.fixture(scope="session")
def bake(cookies_session, tmp_path_factory):
    """bake(**answers) -> Project; each bake has its own BENTOML_HOME and is made once per session."""
    baked: dict[tuple, Project] = {}

    def _bake(**answers: str) -> Project:
        key = tuple(sorted(answers.items()))
        if key not in baked:
            home = str(tmp_path_factory.mktemp("bentoml_home"))
            with mock.patch.dict(os.environ, {"BENTOML_HOME": home}):  # the post-gen hook trains into it
                result = cookies_session.bake(extra_context=answers)
            assert result.exit_code == 0, result.exception
            baked[key] = Project(result.project_path, {**os.environ, "BENTOML_HOME": home})
        return baked[key]

    return _bake
