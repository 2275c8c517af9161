"""Batch scoring in a generated project: Spark (local mode) against local batch scoring, the Makefile, the extras."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import TEMPLATE_DIR, pins, template_pins

JAVA = shutil.which("java") or (
    os.environ.get("JAVA_HOME") and shutil.which("java", path=str(Path(os.environ["JAVA_HOME"], "bin")))
)
# Several partitions from one small file: each must number its rows after those of the partitions before it.
SMALL_PARTITIONS = "--conf spark.sql.files.maxPartitionBytes=16384 --conf spark.sql.files.openCostInBytes=0"


def customers(project, rows: int = 1000) -> pd.DataFrame:
    """The project's held-out rows as a table with an id, and three rows that break the contract."""
    frame = pd.DataFrame(project.validation_records(rows))
    frame.insert(0, "id", [f"id-{row:05d}" for row in range(len(frame))])
    frame.loc[10, "age"], frame.loc[20, "home"], frame.loc[30, "seniority"] = 5, "castle", None
    return frame


@pytest.mark.skipif(not JAVA, reason="Spark needs Java: no java on PATH nor in JAVA_HOME")
def test_spark_local_mode_matches_local_mode_row_for_row(bake, tmp_path):
    project = bake()
    customers(project).to_parquet(tmp_path / "customers.parquet", row_group_size=100)
    source = str(tmp_path / "customers.parquet")
    local = project.run(sys.executable, "score.py", source, "--output", str(tmp_path / "local.parquet"), "--keep", "id")
    # Run from another folder: the executors get the scoring package and the model from the job, not from here.
    env = {**project.env, "PYSPARK_SUBMIT_ARGS": f"{SMALL_PARTITIONS} pyspark-shell"}
    spark = subprocess.run(
        [sys.executable, str(project.path / "score.py"), source, "--spark", "local[2]", "--output",
         str(tmp_path / "spark"), "--keep", "id"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert spark.returncode == 0, spark.stderr[-3000:]
    assert local.stdout.splitlines()[0].split(" -> ")[0] == spark.stdout.splitlines()[0].split(" -> ")[0]
    assert len(list((tmp_path / "spark").glob("part-*.parquet"))) > 1, "several partitions"
    for local_output, spark_output in [("local.parquet", "spark"), ("local-rejects.parquet", "spark-rejects")]:
        expected = pd.read_parquet(tmp_path / local_output)
        scored = pd.read_parquet(tmp_path / spark_output).sort_values("row", ignore_index=True)
        pd.testing.assert_frame_equal(scored, expected, check_dtype=False)
    rejects = pd.read_parquet(tmp_path / "spark-rejects")
    assert dict(zip(rejects["row"], rejects["reason"], strict=True)) == {
        10: "age: 5.0 outside 18 to 110",
        20: "home: 'castle' not an allowed category",
        30: "seniority: missing",
    }


def test_batch_benchmark_reports_rows_per_second_against_the_floor(bake, tmp_path):
    project = bake()
    spark = ["--spark", "local[2]"] if JAVA else ["--spark", "none"]
    command = [sys.executable, "benchmarks/batch.py", "--project", str(project.path), "--rows", "3000", "--repeat", "1"]
    output = subprocess.run([*command, *spark, "--output", str(tmp_path / "report.md")], cwd=TEMPLATE_DIR,
                            env=project.env, check=True, capture_output=True, text=True).stdout  # fmt: skip
    rows = re.findall(r"^\| (.+?) \| 3000 \| [\d.]+ \| (\d+) \| ([\d.]+)x \|$", output, re.MULTILINE)
    modes = [mode.split(":")[0] for mode, _, _ in rows]
    assert modes == ["floor", "local", "local", *(["Spark local[2]"] * 2 if JAVA else [])]
    assert rows[0][2] == "1.00" and all(int(rate) > 0 for _, rate, _ in rows)
    assert re.search(r"^- (PASS|MISS): local batch scoring >= 0.5x the floor's rows/s$", output, re.MULTILINE)
    assert (tmp_path / "report.md").read_text().strip() in output


def test_make_score_runs_score_py(bake):
    project = bake(train_on_generate="no")
    local = project.run("make", "-n", "score", "INPUT=customers.csv", "OUTPUT=decisions.parquet").stdout
    spark = project.run("make", "-n", "score", "INPUT=in/", "OUTPUT=out/", "KEEP=id", "SPARK=local[*]").stdout
    assert local.strip() == "python score.py customers.csv --output decisions.parquet"
    assert spark.strip() == "python score.py in/ --output out/ --keep id --spark 'local[*]'"


def test_pyspark_is_an_optional_pinned_extra_never_in_the_bento(bake):
    project = bake(train_on_generate="no")
    spark_requirements = (project.path / "requirements-spark.txt").read_text()
    assert "-r requirements.txt" in spark_requirements.splitlines()
    assert pins(spark_requirements).items() <= template_pins().items()
    assert "pyspark" in pins(spark_requirements)
    assert "pyspark" not in pins((project.path / "requirements.txt").read_text())
    bento_packages = yaml.safe_load((project.path / "bentofile.yaml").read_text())["python"]["packages"]
    assert not [package for package in bento_packages if package.startswith(("pyspark", "pyarrow", "tqdm"))]
