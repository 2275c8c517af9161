"""Train the model on this project's data and save it, with its data contract, to the BentoML model store.

python train.py                    # the data the project was generated from (or the use case's synthetic sample)
python train.py --data new.csv     # other data in the same layout (contract.yaml)

The model it saves becomes the served one, and MODEL_CARD.md (with model_card/*.png) describes it: what the
thresholds do on the validation rows (scoring/report.py).

Nothing is saved unless the data keeps the contract and the model beats the quality floor: any
problem is one line on stderr, and exit code 2.
"""

import argparse
import os
import re
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import bentoml

from scoring import data, fairness, model_store, report, settings
from scoring.contract import PROJECT_DIR, ContractError, load
from scoring.features import FeatureEncoder
from scoring.model_store import SERVED_MODEL_FILE


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own prints the usage too
        self.exit(2, f"error: {message} (see python train.py --help)\n")


def within(low: float, high: float, kind: type = int):
    """An argparse type: a `kind` number from `low` to `high`."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not between {low:,} and {high:,}")
        return value

    return parse


def model_name(text: str) -> str:
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a BentoML name (lowercase letters, digits, '_', '-', '.')")
    return text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", metavar="CSV", help=f"training data (default: {settings.DATA_PATH or 'synthetic'})")
    parser.add_argument("--rows", type=within(100, 1_000_000), default=5000, help="synthetic rows (%(default)s)")
    parser.add_argument("--seed", type=within(0, 2**32 - 1), default=42, help="random seed (%(default)s)")
    parser.add_argument("--model-name", type=model_name, default=settings.MODEL_NAME, help="name in the store")
    parser.add_argument("--drop-invalid", action="store_true", help="train without the rows that break the contract")
    parser.add_argument("--min-auc", type=within(0, 1, float), default=0.6, help="quality floor (%(default)s)")
    parser.add_argument("--force", action="store_true", help="save the model even below the quality floor")
    parser.add_argument(
        "--no-promote", action="store_true", help=f"save the model without serving it ({SERVED_MODEL_FILE.name})"
    )
    parser.add_argument(
        "--model-card", metavar="DIR", type=Path,
        help=f"write the model card here (default: this project's {report.CARD_FILE}, for the model it serves)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.model_card is None and not args.no_promote:
        args.model_card = PROJECT_DIR  # the project's card describes the model it serves, never another
    return args


def installed_versions() -> dict[str, str]:
    """Versions of the pinned packages in this environment, with a warning for each mismatch."""
    versions = {}
    for package, pinned in settings.PINNED_PACKAGES.items():
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "missing"
        if versions[package] != pinned:
            print(
                f"warning: bentofile.yaml pins {package}=={pinned} but training uses {versions[package]}; "
                "the bento may predict differently (pip install -r requirements.txt)",
                file=sys.stderr,
            )
    return versions


class Refused(Exception):
    """Training stops: the message is the one line the user sees."""


@dataclass(frozen=True)
class Trained:
    scorer: model_store.Scorer
    train_rows: int
    validation: report.Validation  # the held-out rows' probabilities (the native model's) and classes
    rejected_rows: int
    onnx: bytes | None  # the model compiled for onnxruntime, where it gives the same probabilities
    runtime: str  # what serves, and why
    explainer: str  # what explains the decisions, and why


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM as Ctrl-C: on the way out BentoML removes the model copy it was saving (in the temp folder).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    served = model_store.served_tag()
    try:
        save_and_serve(args, train_and_validate(args))
    except (ContractError, data.DataError, Refused) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        now = model_store.served_tag()
        done = f"{now} is served, with its model card" if now != served else "what is served is as it was"
        print(f"interrupted: {done}", file=sys.stderr)
        return 130
    return 0


HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def uninterrupted() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait for the block to end: the model served and its card change together."""
    caught = []
    previous = {signum: signal.signal(signum, lambda signum, _: caught.append(signum)) for signum in HELD_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if caught:
        raise KeyboardInterrupt


def train_and_validate(args: argparse.Namespace) -> Trained:
    from scoring.schema import request_model  # (it reads contract.yaml as it loads: here, a refusal is one line)

    contract = load()
    request_model(contract)  # a contract the service cannot serve stops training, not `bentoml serve`
    rows, rejected = data.check_rows(data.training_data(contract, args.data, args.rows, args.seed), contract)
    if len(rejected) and not args.drop_invalid:
        first = f"row {rejected.index[0]}: {rejected.iloc[0]}"
        raise Refused(f"{len(rejected)} rows break contract.yaml ({first}); fix them, or --drop-invalid")
    data.check_classes(rows, contract)
    train, validation = data.split(rows, contract, args.seed)
    encoder = FeatureEncoder(contract)
    scorer = model_store.fit(contract, encoder.encode_frame(train), data.target_values(train, contract), args.seed)
    features = encoder.encode_frame(validation)
    probabilities = scorer.probabilities(features)
    scorer, explainer = model_store.check_tree_shap(scorer, features)  # explained as it will be served
    contributions = scorer.explain(features)
    if (gap := model_store.log_odds_gap(contributions, probabilities)) > model_store.MAX_LOG_ODDS_DIFFERENCE:
        raise Refused(f"the reasons' contributions miss the validation rows' log-odds by up to {gap:.1e}: "
                      "nothing saved")  # fmt: skip
    by_field = scorer.by_field(contributions)
    scores = report.Validation(
        probabilities,
        data.target_values(validation, contract) == 1,
        groups={column: fairness.groups(validation[column]) for column in contract.protected},
        importance=_importance(contract, by_field),
        unexplained=_unexplained(probabilities, by_field),
    )
    if scores.auc < args.min_auc and not args.force:
        raise Refused(f"validation AUC {scores.auc:.3f} is below the quality floor {args.min_auc}: nothing saved "
                      "(better data, or --min-auc / --force)")  # fmt: skip
    onnx, runtime = model_store.compile_onnx(scorer, features, scores.probabilities)
    return Trained(scorer, len(train), scores, len(rejected), onnx, runtime, explainer)


def _importance(contract, by_field) -> dict[str, float]:
    """Each field's mean absolute contribution to the log-odds, largest first."""
    means = abs(by_field).mean(axis=0)
    return dict(sorted(zip(contract.fields, means.tolist(), strict=True), key=lambda pair: -pair[1]))


def _unexplained(probabilities, by_field) -> int:
    """Validation rows that the generated policy would not approve though no field raised their probability:
    their decision comes from the model's base rate, and their answers carry no reason."""
    policy = report.generated_policy()
    not_approved = probabilities > policy.maybe_threshold
    return int((not_approved & (by_field.max(axis=1) <= 0)).sum())


def _metadata_tables(tables: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The group tables without their figures that have no meaning (None), which BentoML's metadata refuses."""
    return {column: [{key: value for key, value in row.items() if value is not None} for row in table]
            for column, table in tables.items()}  # fmt: skip


def _saved(args: argparse.Namespace, trained: Trained, bands) -> bentoml.Model:
    contract, validation = trained.scorer.contract, trained.validation
    return model_store.save(
        trained.scorer,
        args.model_name,
        metadata={
            "validation_auc": round(validation.auc, 4),
            "validation_gini": round(validation.gini, 4),
            "validation_ks": round(validation.ks, 4),
            "train_rows": trained.train_rows,
            "validation_rows": len(validation.probabilities),
            "rejected_rows": trained.rejected_rows,
            "data": str(args.data or settings.DATA_PATH or f"synthetic (rows={args.rows}, seed={args.seed})"),
            "target": f"{contract.target.column} = {contract.target.positive_class}",
            "decline_threshold": settings.DECLINE_THRESHOLD,
            "maybe_threshold": settings.MAYBE_THRESHOLD,
            "validation_bands": report.band_metadata(bands),
            "protected_groups": _metadata_tables(validation.group_tables(report.generated_policy())),
            "protected_inputs": contract.protected_inputs,
            "runtime": trained.runtime,
            "reasons": trained.explainer,
            "unexplained_rows": validation.unexplained,
            "package_versions": installed_versions(),
        },
        labels={"project": settings.PROJECT_SLUG, "service": settings.SERVICE_NAME, "framework": settings.FRAMEWORK},
        validation=validation.as_object(),
        onnx=trained.onnx,
    )


def _moved_into(scratch: Path, directory: Path) -> Path:
    """The card and its plots written in `scratch` moved to `directory` (each file in one rename); the card."""
    for written in sorted(scratch.rglob("*"), key=lambda path: path.suffix == ".md"):  # the card last
        if written.is_file():
            target = directory / written.relative_to(scratch)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(written, target)
    return directory / report.CARD_FILE


def _first_line(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0][:200]}" if text else type(error).__name__


def bentoml_home() -> str:
    return os.environ.get("BENTOML_HOME") or str(Path.home() / "bentoml")


def save_and_serve(args: argparse.Namespace, trained: Trained) -> None:
    contract, validation = trained.scorer.contract, trained.validation
    bands = report.bands(validation, report.generated_policy())
    try:
        bento_model = _saved(args, trained, bands)
    except (OSError, bentoml.exceptions.BentoMLException, *model_store.framework.SAVE_ERRORS) as error:
        raise Refused(f"cannot save the model to {bentoml_home()} ({_first_line(error)}): nothing saved") from None
    print(f"Saved {bento_model.tag} ({settings.FRAMEWORK}): {report.summary(bands, validation, contract.target)}")
    print(f"Served by {trained.runtime}; reasons by {trained.explainer}")
    for band in report.nearly_empty(bands):
        print(f"warning: {band.status} is given to {band.share:.1f}% of the validation rows: the thresholds do not "
              "fit this data; see what others would do with python -m scoring.report --approval-rate 0.8 (or "
              "--decline, --maybe), then set them (README, Run-time configuration)", file=sys.stderr)  # fmt: skip
    if validation.unexplained:
        print(f"warning: {validation.unexplained} validation rows not approved have no field that raised their "
              "probability: their answers carry no reason (MODEL_CARD.md)", file=sys.stderr)  # fmt: skip
    if args.no_promote:
        if args.model_card:
            print(f"Model card: {report.write_card(bento_model, args.model_card)}")
        return
    args.model_card.mkdir(parents=True, exist_ok=True)
    try:
        with uninterrupted(), tempfile.TemporaryDirectory(dir=args.model_card) as scratch:
            report.write_card(bento_model, Path(scratch))  # beside the card it replaces, then moved in place
            model_store.promote(str(bento_model.tag))
            card = _moved_into(Path(scratch), args.model_card)
    except OSError as error:
        raise Refused(f"cannot write the model card or {SERVED_MODEL_FILE.name} ({_first_line(error)}): "
                      f"{bento_model.tag} is saved, not served") from None  # fmt: skip
    print(f"Serving it from now on ({SERVED_MODEL_FILE.name}); bentoml build packs it")
    print(f"Model card: {card}")


if __name__ == "__main__":
    sys.exit(main())
