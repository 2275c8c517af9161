"""Keep only what was chosen, write the data contract, then train and save the model if asked to."""

import os
import shlex
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

FRAMEWORK = {{ cookiecutter.framework | python_string }}
DATA_PATH = {{ cookiecutter.data_path | python_string }}
TARGET_COLUMN = {{ cookiecutter.target_column | python_string }}
POSITIVE_CLASS = {{ cookiecutter.positive_class | python_string }}
EXCLUDE_COLUMNS = {{ cookiecutter.exclude_columns | python_string }}
PROTECTED_COLUMNS = {{ cookiecutter.protected_columns | python_string }}
USE_CASE = Path("use_cases", {{ cookiecutter.use_case | python_string }})
TRAIN_ON_GENERATE = {{ cookiecutter.train_on_generate }}
KUBERNETES = {{ cookiecutter.kubernetes }}
# cruft runs this hook again, in a scratch folder, on every `cruft update`, `diff` and `check`: training
# there would add a model to the user's store each time. Under cruft, training is `make train`.
UNDER_CRUFT = {{ cookiecutter._commit is defined }}
# Modules train.py imports; each framework adapter's library has the framework's own name.
TRAINING_MODULES = [
    "bentoml", "sklearn", "pandas", "pandera", "pydantic_settings", "onnxruntime", "matplotlib", "shap", "fairlearn",
    FRAMEWORK,
]  # fmt: skip


def where() -> str:
    """This project's folder as the user reaches it from where they ran cookiecutter (its -o included): the
    shell's PWD, which cookiecutter's own changes of folder leave alone; the whole path where it is unknown."""
    here, started = Path.cwd(), os.environ.get("PWD")
    relative = os.path.relpath(here, started) if started else str(here)
    return str(here) if relative.startswith("..") else relative


TRAIN_LATER = f"then train with: cd {shlex.quote(where())} && pip install -r requirements.txt && python train.py"
INFER = [sys.executable, "-m", "scoring.contract", "infer", DATA_PATH, "--target", TARGET_COLUMN,
         "--positive", POSITIVE_CLASS, "--exclude", EXCLUDE_COLUMNS, "--protected", PROTECTED_COLUMNS,
         "--output", "contract.yaml"]  # fmt: skip


def remove_other_adapters() -> None:
    for adapter in Path("scoring/frameworks").glob("*.py"):
        if adapter.stem not in ("__init__", FRAMEWORK):
            adapter.unlink()


def remove_unwanted_manifests() -> None:
    if not KUBERNETES:
        shutil.rmtree("k8s")


def write_contract() -> None:
    """contract.yaml: the built-in use case's, or one inferred from the team's CSV.

    Data that cannot make a contract stops generation (exit 1: cookiecutter then removes the project).
    """
    if not DATA_PATH:
        shutil.copy(USE_CASE / "contract.yaml", "contract.yaml")
        shutil.copy(USE_CASE / "synthetic.py", "scoring/synthetic.py")
        if (USE_CASE / "public_data.py").exists():  # the reader of the public data set it is known for
            shutil.copy(USE_CASE / "public_data.py", "scoring/public_data.py")
        shutil.copy(USE_CASE / "test_synthetic.py", "tests/test_synthetic.py")
    else:
        missing = [module for module in ("pandas", "pandera", "pydantic", "yaml") if find_spec(module) is None]
        if missing:
            sys.exit(f"ERROR: data_path: cannot read {DATA_PATH}: {', '.join(missing)} not installed here "
                     "(pip install -r requirements.txt, then generate again)")  # fmt: skip
        print(f"Inferring the data contract from {DATA_PATH} ...", flush=True)
        inferred = subprocess.run(INFER, stderr=subprocess.PIPE, text=True)
        notes = [line for line in inferred.stderr.splitlines() if line.startswith("note: ")]
        print("\n".join(notes))
        if inferred.returncode != 0:
            sys.exit(f"ERROR: data_path: {inferred.stderr.strip().splitlines()[-1].removeprefix('error: ')}")
    shutil.rmtree("use_cases")
    if subprocess.run([sys.executable, "-m", "scoring.contract", "docs"]).returncode != 0:
        print("note: README.md's field table was not written; write it later with: python -m scoring.contract docs")


def train() -> bool:
    missing = [module for module in TRAINING_MODULES if find_spec(module) is None]
    if missing:
        print(f"\nThe model was NOT trained: {', '.join(missing)} not installed here;\n{TRAIN_LATER}")
        return False
    print(f"\nTraining the {FRAMEWORK} model (python train.py) ...", flush=True)
    if subprocess.run([sys.executable, "train.py"]).returncode != 0:
        print(f"\nThe model was NOT trained: train.py failed (see above);\nfix the cause, {TRAIN_LATER}")
        return False
    return True


def main() -> None:
    remove_other_adapters()
    remove_unwanted_manifests()
    write_contract()
    if TRAIN_ON_GENERATE and not UNDER_CRUFT and train():
        print(f"\nReady. Serve it with: cd {shlex.quote(where())} && bentoml serve   (then open http://localhost:3000)")
    elif TRAIN_ON_GENERATE and UNDER_CRUFT:
        print("\nProject created with cruft, which re-runs this hook on every update: not trained here;")
        print(TRAIN_LATER)
    elif not TRAIN_ON_GENERATE:
        print(f"\nProject created; {TRAIN_LATER.removeprefix('then ')}, then: bentoml serve")


if __name__ == "__main__":
    main()
