"""Train the credit-risk model and save it, preprocessing included, to the BentoML model store.

python train.py                      # deterministic synthetic data (no download)
python train.py --data credit.csv    # your own data, in the CreditScoring.csv layout
"""

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version

from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from credit_scoring import model_store, settings
from credit_scoring.data import clean, read_credit_csv, synthetic_credit_data


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", metavar="PATH", help="CSV in the CreditScoring.csv layout (default: synthetic data)")
    parser.add_argument("--rows", type=int, default=5000, help="rows of synthetic data (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: %(default)s)")
    parser.add_argument("--model-name", default=settings.MODEL_NAME, help="model store name (default: %(default)s)")
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


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    raw = read_credit_csv(args.data) if args.data else synthetic_credit_data(args.rows, args.seed)
    applications, target = clean(raw)
    train_x, val_x, train_y, val_y = train_test_split(
        applications, target, test_size=0.2, random_state=args.seed, stratify=target
    )
    scorer = model_store.fit(train_x, train_y, args.seed)
    auc = float(roc_auc_score(val_y, scorer.default_probability(val_x)))

    bento_model = model_store.save(
        scorer,
        args.model_name,
        metadata={
            "validation_auc": round(auc, 4),
            "train_rows": len(train_x),
            "validation_rows": len(val_x),
            "data": args.data or f"synthetic (rows={args.rows}, seed={args.seed})",
            "decline_threshold": settings.DECLINE_THRESHOLD,
            "maybe_threshold": settings.MAYBE_THRESHOLD,
            "package_versions": installed_versions(),
        },
        labels={"framework": settings.FRAMEWORK, "service": settings.SERVICE_NAME},
    )
    print(f"Saved {bento_model.tag} ({settings.FRAMEWORK}): validation AUC {auc:.3f} on {len(val_x)} rows")


if __name__ == "__main__":
    main()
