"""What the template renders, checked without training (train_on_generate=no)."""

import re
import subprocess
import sys

import pytest
import yaml
from conftest import FRAMEWORKS, TEMPLATE_DIR

EXPECTED_FILES = [
    "README.md", "bentofile.yaml", "requirements.txt", "pyproject.toml", ".gitignore",
    "train.py", "service.py", "credit_scoring/settings.py", "credit_scoring/model_store.py",
    "tests/conftest.py", "tests/test_service.py", "benchmarks/benchmark.py", "Makefile",
    ".github/workflows/ci.yml", "k8s/deployment.yaml", "k8s/service.yaml", "k8s/hpa.yaml",
]  # fmt: skip


def pins(requirements: str) -> dict[str, str]:
    return dict(re.findall(r"^([\w.-]+)==(\S+)$", requirements, re.MULTILINE))


@pytest.fixture(scope="module")
def project(bake):
    return bake(train_on_generate="no")


def test_expected_files_are_rendered(project):
    missing = [name for name in EXPECTED_FILES if not (project.path / name).is_file()]
    assert not missing


def test_no_jinja_is_left_in_rendered_files(project):
    leftovers = [
        str(path.relative_to(project.path))
        for path in project.path.rglob("*")
        if path.is_file() and re.search(r"{{|{%|}}|%}", path.read_text())
    ]
    assert not leftovers


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_rendered_python_is_ruff_clean(project, command):
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "--no-cache", "."], cwd=project.path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_only_the_chosen_framework_is_kept(bake, framework):
    project = bake(framework=framework, train_on_generate="no")
    adapters = sorted(path.stem for path in (project.path / "credit_scoring/frameworks").glob("*.py"))
    assert adapters == sorted(["__init__", framework])
    bento_packages = yaml.safe_load((project.path / "bentofile.yaml").read_text())["python"]["packages"]
    assert all("==" in package for package in bento_packages), "every bento package is pinned"
    others = {name for name in FRAMEWORKS if name not in ("sklearn", framework)}  # scikit-learn is always used
    for listed in (pins("\n".join(bento_packages)), pins((project.path / "requirements.txt").read_text())):
        assert not others & set(listed)
        assert framework == "sklearn" or framework in listed


def test_generated_pins_agree_with_the_template_requirements(project):
    template_pins = pins((TEMPLATE_DIR / "requirements.txt").read_text())
    generated_pins = pins((project.path / "requirements.txt").read_text())
    bento_pins = pins("\n".join(yaml.safe_load((project.path / "bentofile.yaml").read_text())["python"]["packages"]))
    assert generated_pins.items() <= template_pins.items()
    assert bento_pins.items() <= generated_pins.items()
