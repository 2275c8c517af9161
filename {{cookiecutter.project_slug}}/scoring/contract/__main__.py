"""python -m scoring.contract: infer contract.yaml from a CSV, check it, or refresh README.md's field table."""

import argparse
import sys
from pathlib import Path

from scoring import contract as data_contract
from scoring.contract import ContractError, dump, load, write_docs
from scoring.data import DataError
from scoring.inference import infer_from_csv


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def infer(data: str, target: str, positive: str, exclude: str, protected: str, output: Path | None) -> None:
    try:
        contract, notes = infer_from_csv(data, target, positive, _names(exclude), _names(protected))
    except DataError as error:
        raise ContractError(str(error)) from None
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if output:
        output.write_text(dump(contract), encoding="utf-8")
    else:
        print(dump(contract), end="")


def main(argv: list[str] | None = None) -> int:
    summary = data_contract.__doc__.split("\n\n")[0]
    parser = argparse.ArgumentParser(prog="python -m scoring.contract", description=summary)
    commands = parser.add_subparsers(dest="command", required=True)
    inferring = commands.add_parser("infer", help="print a contract inferred from a CSV")
    inferring.add_argument("data", help="the CSV file")
    inferring.add_argument("--target", required=True, help="the column to predict")
    inferring.add_argument("--positive", required=True, help="the target value whose probability is predicted")
    inferring.add_argument("--exclude", default="", help="comma-separated columns that are not inputs")
    inferring.add_argument("--protected", default="", help="comma-separated columns reported on by group, never inputs")
    inferring.add_argument("--output", type=Path, help="write here instead of printing")
    commands.add_parser("check", help="check contract.yaml")
    commands.add_parser("docs", help="refresh the field table and curl example in README.md")
    args = parser.parse_args(argv)
    try:
        if args.command == "infer":
            infer(args.data, args.target, args.positive, args.exclude, args.protected, args.output)
        elif args.command == "check":
            from scoring.schema import request_model  # (it reads contract.yaml as it loads: a refusal is one line)

            contract = load()
            request_model(contract)  # the service's own check of the contract
            print(f"contract.yaml: {len(contract.fields)} fields, target {contract.target.column}")
        else:
            write_docs(load())
    except ContractError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
