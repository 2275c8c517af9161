"""Inferring a data contract from a CSV.

pandas reads the file and pandera infers each column's type, whether it has missing values and its
range (pandera.infer_schema); the rules below only decide what kind of input each column makes:
numbers stay numbers (integer when every value is whole), text with two yes/no-like values is a
boolean, other text with few distinct values a category; text that is nearly unique (names, ids),
has too many values, or columns with a single value are left out, each with a note saying why.
"""

import math
import re
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from scoring.contract import Contract, ContractError, FieldSpec, Target
from scoring.data import MIN_CLASS_ROWS, check_numbers, read_csv

MAX_CATEGORIES = 50  # more distinct values than this make a poor one-hot feature: left out, with a note
ID_LIKE_SHARE = 0.5  # text with at least this share of distinct values identifies rows rather than describes them
BOOLEAN_WORDS = [("yes", "no"), ("true", "false"), ("y", "n"), ("t", "f")]


Inferred = tuple[Contract, list[str]]  # the contract, and notes on what was left out and why


def infer_from_csv(
    path: str | Path, target: str, positive_class: str, exclude: list[str] = (), protected: list[str] = ()
) -> Inferred:
    """The contract of the CSV at `path`."""
    frame = read_csv(path, text_columns=[target])
    for column in frame.columns[frame.dtypes.map(pd.api.types.is_bool_dtype)]:  # keep the data's own spelling
        frame[column] = read_csv(path, text_columns=[column])[column]
    return infer(frame, target, positive_class, exclude, protected, source=Path(path).name)


def infer(
    frame: pd.DataFrame,
    target: str,
    positive_class: str,
    exclude: list[str] = (),
    protected: list[str] = (),
    source: str = "data",
) -> Inferred:
    """The contract of `frame`: `exclude` columns are no inputs; `protected` ones neither, and the model card
    reports on their groups."""
    if missing := [column for column in [target, *exclude, *protected] if column not in frame.columns]:
        raise ContractError(f"{source}: no column {', '.join(map(repr, missing))} ({_columns_named(frame.columns)})")
    labels = frame[target].dropna().astype("string")
    unlabelled = len(frame) - len(labels)
    notes = [f"{unlabelled} rows without a {target} value are ignored"] if unlabelled else []
    negative_class = _negative_class(labels, target, positive_class, source)
    if target in protected:
        raise ContractError(f"{source}: the target {target!r} cannot be a protected column")
    left_out = list(dict.fromkeys([*exclude, *protected]))
    features = frame.loc[labels.index].drop(columns=[target, *left_out])
    check_numbers(features, source)
    excluded = dict.fromkeys(exclude, "excluded when the contract was inferred")
    excluded |= dict.fromkeys(protected, "protected: never an input; the model card reports on its groups")
    fields = {}
    for name, column in pa.infer_schema(features).columns.items():
        spec = _field(features[name], column)
        if isinstance(spec, FieldSpec):
            fields[name] = spec
        else:
            excluded[name] = spec
            notes.append(f"{name} left out: {spec}")
    if not fields:
        raise ContractError(f"{source}: no column is usable as an input ({'; '.join(notes)})")
    return Contract(
        description=f"Inferred from {source} ({len(labels):,} rows).",
        target=Target(column=target, positive_class=positive_class, negative_class=negative_class),
        fields=fields,
        excluded=excluded,
        protected=list(protected),
        example=_typical_record(features[list(fields)], fields),
    ), notes


def _negative_class(labels: pd.Series, target: str, positive_class: str, source: str) -> str:
    counts = labels.value_counts()
    classes = ", ".join(map(repr, sorted(counts.index)[:10])) + (", ..." if len(counts) > 10 else "")
    if len(counts) != 2:
        raise ContractError(f"{source}: target {target!r} needs exactly 2 values, found {len(counts)}: {classes}")
    if positive_class not in counts:
        raise ContractError(f"{source}: positive class {positive_class!r} is not a value of {target!r} ({classes})")
    if counts.min() < MIN_CLASS_ROWS:
        rare = f"{target} = {counts.idxmin()!r}"
        raise ContractError(f"{source}: only {counts.min()} rows of {rare}; at least {MIN_CLASS_ROWS} are needed")
    return next(label for label in counts.index if label != positive_class)


def _field(values: pd.Series, inferred: pa.Column) -> FieldSpec | str:
    """The field a column makes, or why it makes none."""
    present = values.dropna()
    distinct = present.nunique()
    if distinct == 0:
        return "it has no values"
    if distinct == 1:
        return f"it has a single value ({present.iloc[0]!r})"
    missing = f"{len(values) - len(present):,} of {len(values):,} missing" if inferred.nullable else "none missing"
    if pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present):
        low, high = float(present.min()), float(present.max())
        whole = bool((present % 1 == 0).all())
        minimum, maximum = (0, 1) if {low, high} == {0, 1} and distinct == 2 else _widened(low, high, whole)  # a flag
        return FieldSpec(
            kind="integer" if whole else "number",
            description=f"Observed {low:g} to {high:g}; {missing}.",
            nullable=inferred.nullable,
            minimum=minimum,
            maximum=maximum,
        )
    words = sorted(present.astype("string").unique(), key=str)
    by_lower = {word.lower(): word for word in words}
    for true_word, false_word in BOOLEAN_WORDS:
        if len(by_lower) == 2 == len(words) and by_lower.keys() == {true_word, false_word}:
            return FieldSpec(
                kind="boolean",
                description=f"{by_lower[true_word]} or {by_lower[false_word]}; {missing}.",
                nullable=inferred.nullable,
                true_value=by_lower[true_word],
                false_value=by_lower[false_word],
            )
    if distinct <= MAX_CATEGORIES:
        return FieldSpec(
            kind="category", description=f"{distinct} values; {missing}.", nullable=inferred.nullable, categories=words
        )
    if _dates(present):
        return (f"it holds dates (such as {present.iloc[0]!r}): a date is no input as it is; derive a number "
                "from it in the CSV (an age, days since), then infer again")  # fmt: skip
    if distinct >= ID_LIKE_SHARE * len(present):
        return f"it looks like an identifier ({distinct:,} distinct values in {len(present):,} rows)"
    return f"too many distinct values for a category ({distinct:,}; list them in contract.yaml to use it)"


def _widened(low: float, high: float, whole: bool) -> tuple[int | float, int | float]:
    """Bounds that catch typos and unit mix-ups, not unusual values: the observed range widened by its width on
    each side, not below 0 where no value is negative, rounded outward to a tenth of the width's order of
    magnitude (latitudes 44.89 to 45.05: 44.73 to 45.21; years 1997 to 2002: 1992 to 2007)."""
    width = high - low
    minimum = max(low - width, 0) if low >= 0 else low - width
    step = 10 ** (math.floor(math.log10(width)) - 1)
    step = max(step, 1) if whole else step
    return _rounded(math.floor(minimum / step) * step, step), _rounded(math.ceil((high + width) / step) * step, step)


def _rounded(value: float, step: float) -> int | float:
    """`value`, a multiple of `step`, without the float noise of the multiplication (44.730000000000004)."""
    value = round(value, max(0, -math.floor(math.log10(step))))
    return int(value) if value == int(value) else value


DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}")


def _dates(present: pd.Series) -> bool:
    """Whether the column's text (a sample of it) is dates, with or without a time."""
    sample = present.astype("string").head(200)
    return bool(sample.str.fullmatch(DATE.pattern).mean() >= 0.9)


def _typical_record(features: pd.DataFrame, fields: dict[str, FieldSpec]) -> dict:
    """The real row closest to typical: numbers near their median, the commonest categories.

    Rows with no missing value are preferred, so the documentation's example shows every field."""
    distance = pd.Series(0.0, index=features.index)
    for name, spec in fields.items():
        column = features[name]
        if spec.kind in ("integer", "number"):
            distance += (column.rank(pct=True) - 0.5).abs().fillna(1)
        else:
            shares = column.map(column.value_counts(normalize=True)).astype("float64")
            distance += (1 - shares / shares.max()).fillna(1)
    distance += features.isna().any(axis=1) * len(fields)
    row = features.loc[distance.idxmin()]
    return {name: _json_value(row[name], fields[name]) for name in fields}


def _json_value(value, spec: FieldSpec):
    if pd.isna(value):
        return None
    if spec.kind == "integer":
        return int(value)
    if spec.kind == "number":
        return float(value)
    return str(value)


def _columns_named(columns) -> str:
    """The file's columns, where its first line reads as a header of several short names: anything else may be a
    line of a file that is no CSV (a password file's), never to be printed."""
    names = [str(name) for name in columns]
    if 2 <= len(names) <= 200 and all(len(name) <= 64 and name.isprintable() for name in names):
        return f"its columns: {', '.join(names)}"
    return "its first line is no header of named columns"
