"""What the template renders, checked without training (train_on_generate=no)."""

import re
import subprocess
import sys

import pytest
import yaml
from conftest import FRAMEWORKS, TEMPLATE_DIR, pins, template_pins

# Every file of the default project, exactly: nothing missing, nothing left over (e.g. use_cases/).
DEFAULT_FILES = {
    ".cookiecutter.json", ".github/workflows/ci.yml", ".gitignore", "Makefile", "README.md", "bentofile.yaml",
    "docs/batch-scoring.md", "docs/data-contract.md", "docs/deploy.md", "docs/model-card.md", "docs/performance.md",
    "docs/reasons-and-audit.md", "docs/security-and-limits.md",
    "contract.yaml", "pyproject.toml", "requirements.txt", "requirements-spark.txt", "score.py", "service.py",
    "train.py",
    "benchmarks/load_test.py", "benchmarks/wrk.lua",
    "k8s/deployment.yaml", "k8s/hpa.yaml", "k8s/service.yaml",
    "scoring/__init__.py", "scoring/batch.py", "scoring/bentoml_fixes.py", "scoring/contract/__init__.py",
    "scoring/contract/__main__.py", "scoring/data.py",
    "scoring/deciding.py", "scoring/decision_log.py", "scoring/decision_routes.py", "scoring/fairness.py",
    "scoring/features.py",
    "scoring/frameworks/__init__.py", "scoring/frameworks/xgboost.py", "scoring/inference.py", "scoring/middleware.py",
    "scoring/model_store/__init__.py", "scoring/model_store/__main__.py", "scoring/onnx_runtime.py",
    "scoring/policy.py", "scoring/reasons.py",
    "scoring/public_data.py", "scoring/report.py", "scoring/request_metrics.py", "scoring/schema.py",
    "scoring/serving.py",
    "scoring/settings.py", "scoring/synthetic.py",
    "scoring/tree_shap.py",
    "tests/conftest.py", "tests/examples.py", "tests/live_service.py", "tests/records.py", "tests/test_batch.py",
    "tests/test_bentoml_fixes.py", "tests/test_contract.py", "tests/test_data.py", "tests/test_decision_log.py",
    "tests/test_gc_pauses.py", "tests/test_inference.py", "tests/test_layers.py", "tests/test_lifecycle.py",
    "tests/test_limits.py", "tests/test_load_test.py",
    "tests/test_model.py", "tests/test_policy.py", "tests/test_reasons.py", "tests/test_report.py",
    "tests/test_runtime_config.py",
    "tests/test_service.py", "tests/test_synthetic.py", "tests/test_train.py",
}  # fmt: skip


def files(project) -> set[str]:
    return {
        path.relative_to(project.path).as_posix()
        for path in project.path.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


PACKAGE = {"sklearn": "scikit-learn", "xgboost": "xgboost-cpu"}  # a framework's pip package, where not its name


@pytest.fixture(scope="module")
def project(bake):
    return bake(train_on_generate="no")


def test_exactly_the_expected_files_are_rendered(project):
    assert files(project) == DEFAULT_FILES


def test_a_project_from_a_csv_has_no_use_case_files(bake, tmp_path):
    data = tmp_path / "loans.csv"
    data.write_text("amount,purpose,deny\n" + "".join(f"{i},{'car' if i % 3 else 'home'},{i % 2}\n" for i in range(60)))
    project = bake(data_path=str(data), target_column="deny", positive_class="1", train_on_generate="no")
    use_case_files = {"scoring/synthetic.py", "scoring/public_data.py", "tests/test_synthetic.py"}
    assert files(project) == DEFAULT_FILES - use_case_files
    assert set(project.contract["fields"]) == {"amount", "purpose"}


def test_every_relative_link_in_the_readme_and_docs_reaches_a_file(bake):
    project = bake()  # trained: MODEL_CARD.md is written
    documents = [project.path / "README.md", *sorted((project.path / "docs").glob("*.md"))]
    links = [(document, target) for document in documents
             for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", document.read_text(encoding="utf-8"))
             if not re.match(r"[a-z]+:", target)]  # fmt: skip
    assert len(links) > 10
    assert [(document.name, target) for document, target in links if not (document.parent / target).exists()] == []


def test_no_jinja_is_left_in_rendered_files(project):
    leftovers = [
        str(path.relative_to(project.path))
        for path in project.path.rglob("*")
        if path.is_file() and re.search(r"{{-?\s*cookiecutter|{%-?\s", path.read_text())  # `}}`, `%}` are Python too
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
    adapters = sorted(path.stem for path in (project.path / "scoring/frameworks").glob("*.py"))
    assert adapters == sorted(["__init__", framework])
    bento_packages = yaml.safe_load((project.path / "bentofile.yaml").read_text())["python"]["packages"]
    assert all("==" in package for package in bento_packages), "every bento package is pinned"
    library = PACKAGE.get(framework, framework)
    other_libraries = {PACKAGE.get(name, name) for name in FRAMEWORKS} - {library}
    bento = pins("\n".join(bento_packages))
    assert library in bento and not other_libraries & bento.keys()
    requirements = pins((project.path / "requirements.txt").read_text())
    training = {"scikit-learn"}  # train.py splits the data and measures AUC with it, whatever the framework
    assert library in requirements and not (other_libraries - training) & requirements.keys()


def test_the_set_up_installs_what_generating_training_and_serving_need_and_no_test_tool():
    needed = pins((TEMPLATE_DIR / "requirements.txt").read_text())
    assert {"cookiecutter", "bentoml", "xgboost-cpu", "pandera", "shap", "onnxruntime"} <= needed.keys()
    assert not {"pytest", "pyspark", "catboost", "lightgbm", "playwright", "xgboost"} & needed.keys()


def test_generated_pins_agree_with_the_template_requirements(project):
    generated_pins = pins((project.path / "requirements.txt").read_text())
    bento_pins = pins("\n".join(yaml.safe_load((project.path / "bentofile.yaml").read_text())["python"]["packages"]))
    assert generated_pins.items() <= template_pins().items()
    assert bento_pins.items() <= generated_pins.items()


@pytest.mark.parametrize(
    ("project_name", "slug", "service_name"),
    [
        ("Loan Desk (EU)", "loan-desk-eu", "loan_desk_eu"),
        ("1st Loans", "1st-loans", "service_1st_loans"),  # a service name starts with a letter
        ("Łódź Kredyt", "lodz-kredyt", "lodz_kredyt"),
        # BentoML names stop at 63 characters, and model_name adds "_model" to the service name.
        ("Very Long Name " * 6, "very-long-name-" * 4 + "ver", "very_long_name_" * 3 + "very_long_na"),
    ],
)
def test_names_derived_from_any_project_name_are_valid(bake, project_name, slug, service_name):
    project = bake(project_name=project_name, train_on_generate="no")
    assert project.path.name == slug
    assert project.setting("SERVICE_NAME") == service_name
    assert project.setting("MODEL_NAME") == f"{service_name}_model"
    deployment = yaml.safe_load((project.path / "k8s" / "deployment.yaml").read_text())
    assert deployment["metadata"]["name"] == service_name.replace("_", "-")
    assert project.setting("ENV_PREFIX") == f"{service_name.upper()}_"


def test_python_3_14_is_accepted(bake):
    project = bake(python_version="3.14", train_on_generate="no")
    assert yaml.safe_load((project.path / "bentofile.yaml").read_text())["docker"]["python_version"] == "3.14"
    workflow = yaml.safe_load((project.path / ".github/workflows/ci.yml").read_text())
    assert workflow["jobs"]["test-and-build"]["steps"][1]["with"]["python-version"] == "3.14"
    assert 'requires-python = ">=3.14"' in (project.path / "pyproject.toml").read_text()


def test_a_project_from_data_with_many_significant_digits_encodes_records_as_its_data(bake, tmp_path):
    """pandas' to_json rounds to 10 digits: the generated test compared 0.221000003815 with 0.2210000038."""
    data = tmp_path / "rates.csv"
    rows = [f"{0.221000003815 + i * 1.000000000123e-4:.12f},{'yes' if i % 3 else 'no'}\n" for i in range(80)]
    data.write_text("rate,deny\n" + "".join(rows))
    project = bake(data_path=str(data), target_column="deny", positive_class="yes", train_on_generate="no")
    result = project.run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                         "tests/test_model.py::test_records_and_data_files_are_encoded_alike", check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:]
