"""Keep only the chosen framework's adapter, then train and save the model if asked to."""

import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

FRAMEWORK = {{ cookiecutter.framework | tojson }}
TRAIN_ON_GENERATE = {{ cookiecutter.train_on_generate | tojson }} == "yes"
KUBERNETES = {{ cookiecutter.kubernetes | tojson }} == "yes"
PROJECT = {{ cookiecutter.project_slug | tojson }}
# Modules train.py imports; each framework adapter's library has the framework's own name.
TRAINING_MODULES = ["bentoml", "sklearn", "pandas", "pydantic_settings", FRAMEWORK]
TRAIN_LATER = f"then train with: cd {PROJECT} && pip install -r requirements.txt && python train.py"


def remove_other_adapters() -> None:
    for adapter in Path("credit_scoring/frameworks").glob("*.py"):
        if adapter.stem not in ("__init__", FRAMEWORK):
            adapter.unlink()


def remove_unwanted_manifests() -> None:
    if not KUBERNETES:
        shutil.rmtree("k8s")


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
    if TRAIN_ON_GENERATE and train():
        print(f"\nReady. Serve it with: cd {PROJECT} && bentoml serve   (then open http://localhost:3000)")
    elif not TRAIN_ON_GENERATE:
        print(f"\nProject created; {TRAIN_LATER.removeprefix('then ')}, then: bentoml serve")


if __name__ == "__main__":
    main()
