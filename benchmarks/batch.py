"""Batch scoring throughput of a generated project: locally and on Spark (local mode), on the same file,
against the in-process floor. Bakes the default project, or measures one given with --project.

- floor: the served scorer's encode + predict on 64-row batches of request-shaped records already in memory
  (what /classify_batch computes per request, without HTTP, checks or I/O);
- local: scoring.batch.score_file as `python score.py` runs it, end to end: read in chunks, check every row
  against the contract, encode, predict, decide, write Parquet (and the same rows from a CSV file);
- Spark: scoring.batch.score_table on `--spark` (default local[2]) on the same Parquet file, twice: the first
  job starts the executors' Python workers (imports, the broadcast model), the second finds them warm. The
  session's start-up is reported, not counted.

A measurement, not a test: it always exits 0. Rows are the project's training data, repeated. The scoring
package is imported once the measured project is on sys.path.

python benchmarks/batch.py [--project DIR] [--rows 200000] [--spark 'local[2]' | --spark none] [--output report.md]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd
import project

TARGET = 0.5  # local batch scoring: at least half the floor's rows/s


def rows_of_training_data(contract, rows: int) -> pd.DataFrame:
    from scoring import data

    training = data.training_data(contract)
    return pd.concat([training] * -(-rows // len(training)), ignore_index=True).head(rows)[list(contract.fields)]


def best_seconds(run, repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return min(timings)


def floor(scorer, frame: pd.DataFrame, repeat: int) -> float:
    from scoring import data

    checked, _ = data.check_rows(frame, scorer.contract, with_target=False)
    records = json.loads(checked.to_json(orient="records"))  # as requests carry them: null where missing

    def run() -> None:
        for start in range(0, len(records), 64):
            scorer.score_records(records[start : start + 64])

    return best_seconds(run, repeat)


def spark_seconds(master: str, source: Path, folder: Path, scorer, policy) -> tuple[float, list[float]]:
    """Seconds of the session's start-up, and of two jobs scoring `source`; partitions sized so every core works."""
    from scoring import batch

    started = time.perf_counter()
    spark = batch.spark_session(master)
    startup = time.perf_counter() - started
    try:
        cores = spark.sparkContext.defaultParallelism
        spark.conf.set("spark.sql.files.maxPartitionBytes", str(max(source.stat().st_size // (2 * cores), 1 << 16)))
        spark.conf.set("spark.sql.files.openCostInBytes", "0")
        timings = []
        for _ in range(2):
            started = time.perf_counter()
            batch.score_table(spark, str(source), str(folder / "spark"), scorer, policy)
            timings.append(time.perf_counter() - started)
        return startup, timings
    finally:
        spark.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    project.add_arguments(parser)
    parser.add_argument("--rows", type=int, default=200_000, help="rows in the file (%(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="local runs: the best of this many (%(default)s)")
    parser.add_argument("--spark", default="local[2]", help="Spark master, or none (%(default)s)")
    parser.add_argument("--output", type=Path, help="also write the markdown report to this file")
    args = parser.parse_args()
    with project.measured_project(args.project, args.answers):
        results = measure(args)
    text = report(results, args.rows)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")


def measure(args: argparse.Namespace) -> dict[str, float]:
    from scoring import batch
    from scoring.policy import load_policy

    scorer, policy = batch.served_scorer(), load_policy()
    frame = rows_of_training_data(scorer.contract, args.rows)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        frame.to_parquet(folder / "customers.parquet", row_group_size=batch.CHUNK_ROWS)
        frame.to_csv(folder / "customers.csv", index=False)
        results = {"floor: encode + predict, 64-row batches in memory": floor(scorer, frame, args.repeat)}
        for kind in ("parquet", "csv"):
            source = folder / f"customers.{kind}"
            results[f"local: {kind} in, parquet out (score.py)"] = best_seconds(
                lambda source=source: batch.score_file(source, folder / "out.parquet", scorer, policy, progress=False),
                args.repeat,
            )
        if args.spark != "none":
            try:
                startup, (cold, warm) = spark_seconds(args.spark, folder / "customers.parquet", folder, scorer, policy)
                results[f"Spark {args.spark}: first job (session start-up {startup:.1f} s not counted)"] = cold
                results[f"Spark {args.spark}: second job, Python workers warm"] = warm
            except ImportError:
                print("Spark: skipped, pyspark is not installed (pip install -r requirements-spark.txt)")
            except Exception as error:  # e.g. no Java: the local rows still stand
                print(f"Spark: failed: {str(error).strip().splitlines()[0]}")
    return results


def report(results: dict[str, float], rows: int) -> str:
    floor_rate = rows / next(iter(results.values()))
    lines = ["| mode | rows | seconds | rows/s | vs floor |", "| --- | ---: | ---: | ---: | ---: |"]
    for mode, seconds in results.items():
        lines.append(f"| {mode} | {rows} | {seconds:.2f} | {rows / seconds:.0f} | {rows / seconds / floor_rate:.2f}x |")
    local = rows / next(seconds for mode, seconds in results.items() if mode.startswith("local: parquet"))
    met = "PASS" if local >= TARGET * floor_rate else "MISS"
    verdict = f"- {met}: local batch scoring >= {TARGET}x the floor's rows/s"
    return "\n".join([*lines, "", verdict])


if __name__ == "__main__":
    main()
