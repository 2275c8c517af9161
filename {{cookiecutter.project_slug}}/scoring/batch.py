"""Batch scoring: every row of a file, or of a table on Spark, decided on as POST /classify decides on a record.

One code path: the model the service serves (model_store.served_model()), the contract's checks
(scoring.data.check_rows: a row that breaks the contract goes to the reject file with the reason, never
scored), the same features, model call and reasons (scoring.deciding) and the same policy (load_policy():
the generated thresholds plus the same environment overrides). `decide` is that path for a frame of
rows; locally it runs chunk by chunk (memory bounded by the chunk size, whatever the file's size), on
Spark on each Arrow batch of each executor (mapInPandas).

Output, per row that keeps the contract: `row` (its position in the input, from 0, the header not
counted), `status`, `probability`, `model`, `reason_1` ... `reason_<MAX_REASONS>` (the fields of the
principal reasons, largest first, as POST /classify gives them; empty for an approval), then any columns
kept (`keep`); rejects: `row`, `reason` (why the row breaks the contract) and the kept columns.
"""

import atexit
import csv
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from scoring import deciding, model_store, settings
from scoring.contract import PROJECT_DIR, Contract
from scoring.contract import load as load_contract
from scoring.data import DataError, check_rows
from scoring.model_store import Scorer
from scoring.policy import DecisionPolicy

CHUNK_ROWS = 50_000
DECISION_COLUMNS = {"row": pa.int64(), "status": pa.string(), "probability": pa.float64(), "model": pa.string()}
REJECT_COLUMNS = {"row": pa.int64(), "reason": pa.string()}


def decision_columns(policy: DecisionPolicy) -> dict[str, pa.DataType]:
    """The decisions' columns: DECISION_COLUMNS and one per principal reason (`reason_1`...)."""
    return DECISION_COLUMNS | {name: pa.string() for name in _reason_columns(policy)}


def _reason_columns(policy: DecisionPolicy) -> list[str]:
    return [f"reason_{rank}" for rank in range(1, policy.max_reasons + 1)]


class Outcome(NamedTuple):
    scored: int
    rejected: int
    output: str
    rejects: str


def served_scorer() -> Scorer:
    """The model the service serves, refused (SystemExit) as the service refuses it: damaged, or trained on another
    contract.yaml."""
    return model_store.load_servable(model_store.served_model(), load_contract())


def decide(
    frame: pd.DataFrame, scorer: Scorer, policy: DecisionPolicy, keep: Sequence[str] = ()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(decisions, rejects) for the rows of `frame`, whose index is the rows' numbers in the input."""
    rows, rejected = check_rows(frame[list(scorer.contract.fields)], scorer.contract, with_target=False)
    decided = deciding.decide(scorer, policy, scorer.encoder.encode_frame(rows))
    decisions = pd.DataFrame({
        "row": rows.index.to_numpy(np.int64),
        "status": pd.Series(decided.statuses, dtype=object),
        "probability": np.asarray(decided.probabilities, dtype=float),
        "model": scorer.tag,
    })  # fmt: skip
    for rank, column in enumerate(_reason_columns(policy)):
        fields = [reasons[rank]["field"] if len(reasons) > rank else None for reasons in decided.reasons]
        decisions[column] = pd.Series(fields, dtype=object)
    rejected = rejected.sort_index()
    rejects = pd.DataFrame({"row": rejected.index.to_numpy(np.int64), "reason": rejected.to_numpy(str)})
    for column in keep:
        decisions[column] = frame[column].loc[rows.index].to_numpy()
        rejects[column] = frame[column].loc[rejected.index].to_numpy()
    return decisions, rejects


def rejects_path(output: str) -> str:
    """Where the rejects go by default: beside the output, e.g. decisions.parquet -> decisions-rejects.parquet."""
    output = output.rstrip("/")
    folder, _, name = output.rpartition("/")
    stem, dot, suffix = name.rpartition(".") if "." in name.strip(".") else (name, "", "")
    return f"{folder}{'/' if folder else ''}{stem}-rejects{dot}{suffix}"


def file_format(path: str, given: str | None = None) -> str:
    if given:
        return given
    suffix = Path(path.rstrip("/")).suffix.lower()
    if suffix in (".csv", ".parquet"):
        return suffix[1:]
    if suffix == ".pq" or not suffix:  # Spark tables are usually folders of Parquet files
        return "parquet"
    raise DataError(f"{path}: not .csv nor .parquet; say which with --format")


def _columns(contract: Contract, keep: list[str], available: list[str], source: str) -> list[str]:
    taken = DECISION_COLUMNS.keys() | REJECT_COLUMNS.keys()
    if clash := sorted(name for name in keep if name in taken or name.startswith("reason_")):
        raise DataError(f"--keep {', '.join(clash)}: the output has a column of that name already")
    columns = list(dict.fromkeys([*contract.fields, *keep]))
    if missing := [column for column in columns if column not in available]:
        raise DataError(f"{source}: missing column(s) {', '.join(missing)} (see contract.yaml)")
    return columns


# -- local files, in chunks -------------------------------------------------------------------------------


def score_file(
    source: str | Path,
    output: str | Path,
    scorer: Scorer,
    policy: DecisionPolicy,
    keep: Sequence[str] = (),
    rejects: str | Path | None = None,
    chunk_rows: int = CHUNK_ROWS,
    input_format: str | None = None,
    progress: bool = True,
) -> Outcome:
    """Score `source` (CSV or Parquet) chunk by chunk into `output` and `rejects` (Parquet, or CSV by extension)."""
    source, output = Path(source), Path(output)
    rejects = Path(rejects or rejects_path(str(output)))
    if not source.is_file():
        raise DataError(f"{source}: {'not a file' if source.exists() else 'no such file'}")
    check_outputs(source, output, rejects)
    reader = _read_parquet if file_format(str(source), input_format) == "parquet" else _read_csv
    chunks, kept, total = reader(source, scorer.contract, list(keep), chunk_rows)
    scored = rejected = 0
    with (
        _writer(output, pa.schema([*decision_columns(policy).items(), *kept])) as write_decisions,
        _writer(rejects, pa.schema([*REJECT_COLUMNS.items(), *kept])) as write_rejects,
        tqdm(total=total, unit="B" if reader is _read_csv else " rows", unit_scale=True, disable=not progress) as bar,
    ):
        for frame, done in chunks:
            decisions, rejected_rows = decide(frame, scorer, policy, keep)
            write_decisions(decisions)
            write_rejects(rejected_rows)
            scored, rejected = scored + len(decisions), rejected + len(rejected_rows)
            bar.update(done - bar.n)
            bar.set_postfix(scored=scored, rejected=rejected, refresh=False)
    return Outcome(scored, rejected, str(output), str(rejects))


def check_outputs(source: Path, output: Path, rejects: Path) -> None:
    """DataError where writing would destroy the input or one output the other, or where an output is a folder."""
    if output.resolve() == rejects.resolve():
        raise DataError(f"{output}: the decisions and the rejects would be one file; choose another --rejects")
    for path, option in ((output, "--output"), (rejects, "--rejects")):
        if path.resolve() == source.resolve():
            raise DataError(f"{path}: {option} is the input file, which scoring would replace; choose another path")
        if path.is_dir():
            raise DataError(f"{path}: {option} is a folder; name a file")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP's CSV injection rule: what a spreadsheet runs


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with each text cell a spreadsheet would run as a formula quoted by a leading apostrophe."""
    texts = [name for name in frame.columns if not pd.api.types.is_numeric_dtype(frame[name])]
    if not texts:
        return frame
    return frame.assign(**{name: frame[name].map(_quoted) for name in texts})


def _quoted(value):
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


Chunks = Iterator[tuple[pd.DataFrame, int]]  # (rows indexed by their number in the file, progress so far)


def _read_csv(path: Path, contract: Contract, keep: list[str], chunk_rows: int) -> tuple[Chunks, list, int]:
    """As data.read_for_contract reads a CSV (categories and booleans as text; kept columns too), in chunks."""
    try:
        with path.open(newline="", encoding="utf-8") as file:
            header = next(csv.reader(file), [])
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    columns = _columns(contract, keep, header, str(path))
    texts = [name for name, spec in contract.fields.items() if spec.kind in ("category", "boolean")] + keep

    def chunks() -> Chunks:
        with path.open("rb") as file:
            try:
                options = {"usecols": columns, "dtype": dict.fromkeys(texts, "string"), "encoding": "utf-8"}
                for frame in pd.read_csv(file, chunksize=chunk_rows, low_memory=False, **options):
                    yield frame[columns], file.tell()
            except UnicodeDecodeError:
                raise DataError(f"{path}: not UTF-8 text") from None
            except pd.errors.ParserError as error:
                raise DataError(f"{path}: not a readable CSV ({str(error).strip().splitlines()[-1]})") from None

    return chunks(), [(name, pa.string()) for name in keep], path.stat().st_size


def _read_parquet(path: Path, contract: Contract, keep: list[str], chunk_rows: int) -> tuple[Chunks, list, int]:
    """Row group by row group: memory is bounded by the chunk size and the file's row-group size."""
    try:
        parquet = pq.ParquetFile(path)
    except pa.ArrowException as error:
        raise DataError(f"{path}: not a readable Parquet file ({error})") from None
    columns = _columns(contract, keep, parquet.schema_arrow.names, str(path))

    def chunks() -> Chunks:
        start = 0
        for batch in parquet.iter_batches(batch_size=chunk_rows, columns=columns):
            frame = batch.to_pandas().set_axis(pd.RangeIndex(start, start + batch.num_rows))
            start += batch.num_rows
            yield frame, start

    return chunks(), [parquet.schema_arrow.field(name) for name in keep], parquet.metadata.num_rows


@contextmanager
def _writer(path: Path, schema: pa.Schema) -> Iterator[Callable[[pd.DataFrame], None]]:
    """A function appending frames to `path` (CSV by extension, else Parquet), which appears only once complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial_path = path.with_name(f".{path.name}.partial")
    try:
        if path.suffix.lower() == ".csv":
            with partial_path.open("w", newline="", encoding="utf-8") as file:
                csv.writer(file).writerow(schema.names)
                yield lambda frame: neutralised(frame).to_csv(file, header=False, index=False)
        else:
            with pq.ParquetWriter(partial_path, schema) as parquet:
                yield lambda frame: parquet.write_table(pa.Table.from_pandas(frame, schema, preserve_index=False))
        partial_path.replace(path)
    finally:
        partial_path.unlink(missing_ok=True)


# -- Spark ------------------------------------------------------------------------------------------------


def spark_session(master: str):
    """A SparkSession on `master` whose executors can import this project's scoring package."""
    if master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the executors' Python: this one
    elif os.environ.get("SPARK_LOCAL_IP") == "127.0.0.1":
        del os.environ["SPARK_LOCAL_IP"]  # set by pandera's import when pyspark is installed: no cluster reaches it
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.master(master).appName(f"{settings.SERVICE_NAME} score.py").getOrCreate()
    spark.sparkContext.addPyFile(_package_zip())
    return spark


def _package_zip() -> str:
    """The scoring package as a zip, for the executors (addPyFile); deleted when this process ends."""
    folder = tempfile.mkdtemp(prefix="scoring-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    with zipfile.ZipFile(path := Path(folder, "scoring.zip"), "w") as archive:
        for module in sorted((PROJECT_DIR / "scoring").rglob("*.py")):
            archive.write(module, module.relative_to(PROJECT_DIR))
    return str(path)


def score_table(
    spark,
    source: str,
    output: str,
    scorer: Scorer,
    policy: DecisionPolicy,
    keep: Sequence[str] = (),
    rejects: str | None = None,
    input_format: str | None = None,
) -> Outcome:
    """Score a table (a file or folder Spark reads: local, HDFS, S3...) into Parquet folders `output` and `rejects`.

    The loaded model ships with the job (a broadcast of the Scorer: no model store on the executors),
    the code with the session (spark_session). Each executor runs `decide` on its Arrow batches.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

    rejects = rejects or rejects_path(output)
    if len({source, output, rejects}) < 3:
        raise DataError(f"{output}: the input, --output and --rejects must be three different paths")
    fmt = file_format(source, input_format)
    table = spark.read.format(fmt).options(**({"header": "true"} if fmt == "csv" else {})).load(source)
    columns = _columns(scorer.contract, list(keep), table.columns, source)
    table = table.select(*columns)
    # Row numbers: a partition's rows follow those of the partitions before it.
    counts, offsets, start = dict(table.groupBy(F.spark_partition_id()).count().collect()), {}, 0
    for part in sorted(counts):
        offsets[part], start = start, start + counts[part]
    job = spark.sparkContext.broadcast((scorer, policy, offsets, list(keep)))
    schema = StructType([
        StructField("row", LongType(), False), StructField("status", StringType()),
        StructField("probability", DoubleType()), StructField("model", StringType()),
        *(StructField(name, StringType()) for name in _reason_columns(policy)),
        StructField("reason", StringType()), *(table.schema[name] for name in keep),
    ])  # fmt: skip
    decided = table.mapInPandas(partial(_decide_batches, job), schema).persist()
    try:
        good = decided.filter(F.col("reason").isNull())
        good.select(*decision_columns(policy), *keep).write.mode("overwrite").parquet(output)
        bad = decided.filter(F.col("reason").isNotNull())
        bad.select(*REJECT_COLUMNS, *keep).write.mode("overwrite").parquet(rejects)
        return Outcome(good.count(), bad.count(), output, rejects)
    finally:
        decided.unpersist()
        job.destroy()


def _decide_batches(job, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """On an executor: decisions and rejects (with their reason) of one partition's Arrow batches."""
    from pyspark import TaskContext

    scorer, policy, offsets, keep = job.value
    start = offsets.get(TaskContext.get().partitionId(), 0)
    for frame in batches:
        frame = frame.set_axis(pd.RangeIndex(start, start + len(frame)))
        start += len(frame)
        decided = pd.concat(decide(frame, scorer, policy, keep))
        # Text as Python objects: Spark 4.3 cannot convert pandas 3's Arrow-backed strings once concatenated.
        yield decided.astype({name: object for name, dtype in decided.dtypes.items() if dtype == "str"})
