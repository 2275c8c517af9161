"""The generated project a template benchmark measures: one given with --project, else one baked here.

Its folders go first on sys.path, so that the benchmark imports the project's own scoring package, its test
helpers (tests/) and its load test (benchmarks/load_test.py).
"""

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
BENCHMARKS_DIR = Path(__file__).resolve().parent


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--project and --answers, for measured_project."""
    parser.add_argument("--project", type=Path, help="a generated, trained project (default: bake one)")
    parser.add_argument("--answers", nargs="*", default=[], help="key=value answers for the bake")


@contextmanager
def measured_project(project_dir: Path | None, answers: list[str]) -> Iterator[tuple[Path, dict[str, str]]]:
    """(the project's folder, the environment to run it in); without `project_dir`, a project baked with
    `answers` (key=value, as cookiecutter takes them) and trained into a BENTOML_HOME of its own."""
    folder = nullcontext(str(project_dir)) if project_dir else tempfile.TemporaryDirectory(prefix="benchmark-")
    with folder as where:
        env = dict(os.environ)
        if project_dir is None:
            env["BENTOML_HOME"] = str(Path(where, "bentoml"))
            command = [sys.executable, "-m", "cookiecutter", str(TEMPLATE_DIR), "--no-input", "-o", where, *answers]
            subprocess.run(command, env=env, check=True, stdout=sys.stderr)
            [project_dir] = [path for path in Path(where).iterdir() if (path / "service.py").exists()]
        project_dir = project_dir.resolve()
        sys.path[:0] = [str(project_dir), str(project_dir / "tests"), str(project_dir / "benchmarks")]
        # Servers started from the project import the template's peers and BentoML floor too.
        env["PYTHONPATH"] = os.pathsep.join([str(BENCHMARKS_DIR), str(project_dir), env.get("PYTHONPATH", "")])
        os.environ.update(env)  # the project's modules read BENTOML_HOME (the served model) in this process
        yield project_dir, env
