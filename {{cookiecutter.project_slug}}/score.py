"""Score a whole file (locally, in chunks) or a whole table (on Spark) with the served model and policy.

python score.py customers.csv --output decisions.parquet                  # local, streaming, with a progress bar
python score.py customers.parquet --spark 'local[*]' --output decisions/  # the same on Spark
spark-submit score.py s3a://bucket/customers/ --spark yarn --output s3a://bucket/decisions/

Rows that break contract.yaml go to the reject file (default: beside the output, e.g.
decisions-rejects.parquet) with the reason, never scored. See scoring/batch.py.
"""

import argparse
import signal
import sys

from scoring import batch
from scoring.data import DataError
from scoring.policy import load_policy


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", help="CSV or Parquet file (with --spark: any path or folder Spark reads)")
    parser.add_argument("--output", required=True, help="decisions: Parquet (.csv: CSV; with --spark: a folder)")
    parser.add_argument("--rejects", help="rows that break the contract, with the reason (default: beside --output)")
    parser.add_argument("--keep", action="append", default=[], help="input column(s) to carry through, e.g. id")
    parser.add_argument("--format", choices=["csv", "parquet"], help="input format (default: by extension)")
    parser.add_argument("--spark", metavar="MASTER", help="score on Spark: local[*], yarn, spark://host:7077...")
    parser.add_argument("--chunk-rows", type=positive, default=batch.CHUNK_ROWS, help="local: rows read at a time")
    args = parser.parse_args(argv)
    args.keep = [column.strip() for value in args.keep for column in value.split(",") if column.strip()]
    return args


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of rows above 0")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    # SIGTERM as Ctrl-C: the files being written are removed on the way out, none is left half-written.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    args = parse_args(argv)
    policy, scorer = load_policy(), batch.served_scorer()
    try:
        if args.spark:
            spark = batch.spark_session(args.spark)
            try:
                outcome = batch.score_table(
                    spark, args.input, args.output, scorer, policy, args.keep, args.rejects, args.format
                )
            finally:
                spark.stop()
        else:
            outcome = batch.score_file(
                args.input, args.output, scorer, policy, args.keep, args.rejects, args.chunk_rows, args.format
            )
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: no output file is left half-written", file=sys.stderr)
        return 130
    print(f"{outcome.scored} rows scored with {scorer.tag} -> {outcome.output}")
    print(f"{outcome.rejected} rows break contract.yaml -> {outcome.rejects}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
