"""Data files in the contract's layout: reading them, and checking each row against the contract.

pandas reads the file; pandera checks every row against the contract (bounds, categories, missing
values) and reports each row that breaks it with the reasons, so training can refuse bad data and
batch scoring can set bad rows aside instead of scoring them.
"""

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from sklearn.model_selection import train_test_split

from scoring import settings
from scoring.contract import Contract, FieldSpec


class DataError(ValueError):
    """A data file that cannot be used as it is; the message is one line naming the file."""


LARGEST_NUMBER = float(np.finfo(np.float32).max)  # the models compute in 32-bit floats
SNIFFED_BYTES = 64 * 1024


def read_csv(path: str | Path, text_columns: list[str] = ()) -> pd.DataFrame:
    """Read a CSV, keeping `text_columns` as text; any reason it cannot be read is a DataError."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path}: not a file")
    try:
        with path.open("rb") as file:
            if b"\0" in file.read(SNIFFED_BYTES):  # a binary file, or an empty disk image: refused before reading it
                raise DataError(f"{path}: not a CSV (it holds NUL bytes)")
        with path.open(newline="", encoding="utf-8-sig") as file:  # (Excel's "CSV UTF-8" starts with a BOM)
            header = next(csv.reader(file), [])
        frame = pd.read_csv(path, dtype=dict.fromkeys(text_columns, "string"), encoding="utf-8")
    except (pd.errors.EmptyDataError, StopIteration):
        raise DataError(f"{path}: empty file") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    except (pd.errors.ParserError, csv.Error) as error:
        raise DataError(f"{path}: not a readable CSV ({str(error).strip().splitlines()[-1]})") from None
    except OSError as error:
        raise DataError(f"{path}: {error.strerror}") from None
    if repeated := sorted(name for name, count in Counter(header).items() if count > 1):
        raise DataError(f"{path}: column(s) named twice: {', '.join(repeated)}")
    if frame.empty:
        raise DataError(f"{path}: no rows, only a header")
    return frame


def check_numbers(frame: pd.DataFrame, source: str | Path) -> None:
    """DataError naming the first column with a number the models cannot compute with."""
    for column in frame.select_dtypes("number").columns:
        beyond = np.abs(frame[column].to_numpy(dtype=float, na_value=np.nan)) > LARGEST_NUMBER  # inf too
        if beyond.any():
            raise DataError(f"{source}: column {column!r} has a number beyond ±{LARGEST_NUMBER:.1e}, or infinite, "
                            f"in row {frame.index[beyond.argmax()]}: fix it or leave the column out")  # fmt: skip


def read_for_contract(path: str | Path, contract: Contract, with_target: bool = True) -> pd.DataFrame:
    """Read a data file in the contract's layout: its fields (and target) columns, other columns dropped."""
    texts = [name for name, spec in contract.fields.items() if spec.kind in ("category", "boolean")]
    frame = read_csv(path, [*texts, contract.target.column] if with_target else texts)
    needed = contract.columns if with_target else list(contract.fields)
    if missing := [column for column in needed if column not in frame.columns]:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)} (see contract.yaml)")
    check_numbers(frame[needed], path)
    return frame[needed]


def check_rows(frame: pd.DataFrame, contract: Contract, with_target: bool = True) -> tuple[pd.DataFrame, pd.Series]:
    """Split `frame` into the rows that keep the contract (typed: numbers as floats, NaN where missing;
    categories and booleans as the data's own text) and, for the others, why (a Series of reasons)."""
    frame = _typed(frame, contract, with_target)
    unparsable = frame.attrs.pop("unparsable")
    problems = list(unparsable)
    try:
        _schema(contract, with_target).validate(frame.drop(index=[index for index, _ in unparsable]), lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.dropna(subset=["index"])
        problems += [(case.index, _reason(case)) for case in cases.itertuples()]
    reasons = _joined(problems)
    return frame.drop(index=reasons.index), reasons


MIN_CLASS_ROWS = 10  # fewer rows of a target class than this cannot be learned from (or validated on)


def check_classes(frame: pd.DataFrame, contract: Contract) -> None:
    """DataError unless each target class has at least MIN_CLASS_ROWS rows."""
    counts = frame[contract.target.column].value_counts()
    for label in (contract.target.positive_class, contract.target.negative_class):
        if counts.get(label, 0) < MIN_CLASS_ROWS:
            raise DataError(f"only {counts.get(label, 0)} rows of {contract.target.column} = {label!r}; "
                            f"at least {MIN_CLASS_ROWS} are needed to learn and validate")  # fmt: skip


def target_values(frame: pd.DataFrame, contract: Contract) -> np.ndarray:
    """1 where the target is the positive class, else 0."""
    return (frame[contract.target.column] == contract.target.positive_class).to_numpy(dtype=int)


def _typed(frame: pd.DataFrame, contract: Contract, with_target: bool) -> pd.DataFrame:
    """The frame with numbers parsed (text that is no number is noted in attrs["unparsable"]) and
    booleans and categories as text, however the file stored them (CSV text, Parquet bool or int)."""
    typed, unparsable = frame.copy(), []
    for name, spec in contract.fields.items():
        column = frame[name]
        if spec.kind in ("integer", "number"):
            numbers = pd.to_numeric(column, errors="coerce").astype("float64")
            unparsable += [(index, f"{name}: {value!r} is not a number") for index, value in
                           column[numbers.isna() & column.notna()].items()]  # fmt: skip
            typed[name] = numbers
        else:
            if spec.kind == "boolean" and pd.api.types.is_bool_dtype(column):
                column = column.map({True: spec.true_value, False: spec.false_value})
            typed[name] = column.astype("string")
    if with_target:
        typed[contract.target.column] = frame[contract.target.column].astype("string")
    typed.attrs["unparsable"] = unparsable
    return typed


def _schema(contract: Contract, with_target: bool) -> pa.DataFrameSchema:
    columns = {name: _column(spec) for name, spec in contract.fields.items()}
    if with_target:
        classes = [contract.target.positive_class, contract.target.negative_class]
        columns[contract.target.column] = pa.Column(
            "string", pa.Check.isin(classes, error=f"not a target class ({' or '.join(classes)})")
        )
    return pa.DataFrameSchema(columns)


def _column(spec: FieldSpec) -> pa.Column:
    if spec.kind == "category":
        allowed = pa.Check.isin(spec.categories, error="not an allowed category")
        return pa.Column("string", allowed, nullable=spec.nullable)
    if spec.kind == "boolean":
        tokens = [spec.true_value, spec.false_value]
        return pa.Column("string", pa.Check.isin(tokens, error=f"not {' or '.join(tokens)}"), nullable=spec.nullable)
    low, high = -np.inf if spec.minimum is None else spec.minimum, np.inf if spec.maximum is None else spec.maximum
    checks = [pa.Check.in_range(low, high, error=f"outside {low:g} to {high:g}")]
    if spec.kind == "integer":
        checks.append(pa.Check(lambda values: values % 1 == 0, error="not a whole number"))
    return pa.Column("float64", checks, nullable=spec.nullable)


def _reason(case) -> str:
    if case.check == "not_nullable":
        return f"{case.column}: missing"
    return f"{case.column}: {case.failure_case!r} {case.check}"


def _joined(problems: list[tuple[object, str]]) -> pd.Series:
    by_row: dict[object, list[str]] = {}
    for index, reason in problems:
        by_row.setdefault(index, []).append(reason)
    return pd.Series({index: "; ".join(reasons) for index, reasons in by_row.items()}, dtype="string")


def training_data(contract: Contract, path: str | Path | None = None, rows: int = 5000, seed: int = 42) -> pd.DataFrame:
    """The labelled rows to learn from: the CSV at `path` (by default the data this project was
    generated from) or, in a project generated from a built-in use case, its synthetic sample."""
    path = path or settings.DATA_PATH
    if not path:
        from scoring import synthetic  # only projects generated without data_path have one

        return synthetic.sample(rows, seed)[contract.columns]
    frame = _public_layout(path, contract)
    frame = read_for_contract(path, contract) if frame is None else frame
    return frame[frame[contract.target.column].notna()]


def _public_layout(path: str | Path, contract: Contract) -> pd.DataFrame | None:
    """The CSV at `path` read by the built-in use case's reader of its public data set, if the project has one
    and the file is in that data set's own layout (scoring/public_data.py)."""
    try:
        from scoring import public_data
    except ImportError:  # a project generated from its own data
        return None
    frame = public_data.in_contract_layout(read_csv(path))
    if frame is not None:
        check_numbers(frame[contract.columns], path)
        return frame[contract.columns]
    return None


def split(frame: pd.DataFrame, contract: Contract, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows, validation rows): 20% held out, with both classes in the same proportions."""
    return train_test_split(frame, test_size=0.2, random_state=seed, stratify=frame[contract.target.column])
