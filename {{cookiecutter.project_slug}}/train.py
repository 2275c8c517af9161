"""Train the model on this project's data and save it, with its data contract, to the BentoML model store.

python train.py                    # the data the project was generated from (or the use case's synthetic sample)
python train.py --data new.csv     # other data in the same layout (contract.yaml)
"""

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version

from sklearn.metrics import roc_auc_score

from scoring import data, model_store, settings
from scoring.contract import ContractError, load
from scoring.features import FeatureEncoder
from scoring.model_store import SERVED_MODEL_FILE


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", metavar="CSV", help=f"training data (default: {settings.DATA_PATH or 'synthetic'})")
    parser.add_argument("--rows", type=int, default=5000, help="rows of synthetic data (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: %(default)s)")
    parser.add_argument("--model-name", default=settings.MODEL_NAME, help="model store name (default: %(default)s)")
    parser.add_argument("--drop-invalid", action="store_true", help="train without the rows that break the contract")
    parser.add_argument(
        "--no-promote", action="store_true", help=f"save the model without serving it ({SERVED_MODEL_FILE.name})"
    )
    return parser.parse_args(argv)


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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        contract = load()
        rows, rejected = data.check_rows(data.training_data(contract, args.data, args.rows, args.seed), contract)
    except (ContractError, data.DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if len(rejected) and not args.drop_invalid:
        first = f"row {rejected.index[0]}: {rejected.iloc[0]}"
        print(f"error: {len(rejected)} rows break contract.yaml ({first}); fix or --drop-invalid them", file=sys.stderr)
        return 2
    train, validation = data.split(rows, contract, args.seed)
    encoder = FeatureEncoder(contract)
    scorer = model_store.fit(contract, encoder.encode_frame(train), data.target_values(train, contract), args.seed)
    auc = float(roc_auc_score(data.target_values(validation, contract), scorer.score_frame(validation)))

    bento_model = model_store.save(
        scorer,
        args.model_name,
        metadata={
            "validation_auc": round(auc, 4),
            "train_rows": len(train),
            "validation_rows": len(validation),
            "rejected_rows": len(rejected),
            "data": str(args.data or settings.DATA_PATH or f"synthetic (rows={args.rows}, seed={args.seed})"),
            "target": f"{contract.target.column} = {contract.target.positive_class}",
            "decline_threshold": settings.DECLINE_THRESHOLD,
            "maybe_threshold": settings.MAYBE_THRESHOLD,
            "package_versions": installed_versions(),
        },
        labels={"project": settings.PROJECT_SLUG, "service": settings.SERVICE_NAME, "framework": settings.FRAMEWORK},
    )
    print(f"Saved {bento_model.tag} ({settings.FRAMEWORK}): validation AUC {auc:.3f} on {len(validation)} rows")
    if not args.no_promote:
        model_store.promote(str(bento_model.tag))
        print(f"Serving it from now on ({SERVED_MODEL_FILE.name}); bentoml build packs it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
