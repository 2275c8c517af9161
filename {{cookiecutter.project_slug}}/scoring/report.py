"""The model card: what the model and the thresholds do on the validation rows it was not trained on.

`python train.py` writes MODEL_CARD.md and its plots (model_card/*.png) for the model it serves, with the
thresholds chosen at generation; `make promote` rewrites them for the model it rolls back to. The command
line prints the same table for the served model with the thresholds in force (serve-time environment
variables included) or others, and suggests thresholds. It changes nothing that is served:

    python -m scoring.report                               # the thresholds in force
    python -m scoring.report --decline 0.6 --maybe 0.35    # what these would do
    python -m scoring.report --approval-rate 0.7           # a maybe threshold that approves about 70%
    python -m scoring.report --cost-ratio 5                # where a false approval costs 5 false declines
"""

import argparse
import math
import re
import sys
import textwrap
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import bentoml
import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure
from pydantic import ValidationError
from scipy.stats import ks_2samp
from sklearn.calibration import CalibrationDisplay
from sklearn.metrics import roc_auc_score, roc_curve

from scoring import fairness, model_store, settings
from scoring.contract import PROJECT_DIR, Contract, Target
from scoring.policy import DecisionPolicy, load_policy, variable_problem

CARD_FILE = "MODEL_CARD.md"
PLOTS_DIR = "model_card"


@dataclass(frozen=True)
class Validation:
    """The predicted probabilities of the validation rows, and which rows are of the positive class."""

    probabilities: np.ndarray
    positive: np.ndarray  # booleans
    groups: dict[str, list[str]] = field(default_factory=dict)  # each protected column's group of each row
    importance: dict[str, float] = field(default_factory=dict)  # each field's mean absolute contribution
    unexplained: int = 0  # rows not approved though no field raised their probability: no reason to give

    @cached_property  # the card, its plot and the summary each show it
    def auc(self) -> float:
        return float(roc_auc_score(self.positive, self.probabilities))

    @property
    def gini(self) -> float:
        return 2 * self.auc - 1

    @cached_property
    def ks(self) -> float:
        """The Kolmogorov-Smirnov statistic: the largest gap between the two classes' probability distributions."""
        return float(ks_2samp(self.probabilities[self.positive], self.probabilities[~self.positive]).statistic)

    def group_tables(self, policy: DecisionPolicy) -> dict[str, list[dict]]:
        """For each protected column, who the policy's thresholds affect (scoring/fairness.py)."""
        return {column: fairness.group_table(self.probabilities, self.positive, group, policy)
                for column, group in self.groups.items()}  # fmt: skip

    def as_object(self) -> dict:
        """What the model store keeps with the model: the card can be rebuilt from it (a rollback) even when
        the data file has changed since, and without training packages reading it again."""
        return {"probabilities": self.probabilities.astype(float), "positive": self.positive.astype(bool),
                "groups": self.groups, "importance": self.importance, "unexplained": self.unexplained}  # fmt: skip

    @classmethod
    def of(cls, bento_model: bentoml.Model) -> "Validation":
        stored = bento_model.custom_objects.get("validation")
        if stored is None:
            raise SystemExit(f"{bento_model.tag} has no validation scores stored with it; "
                             "retrain with: python train.py")  # fmt: skip
        return cls(
            np.asarray(stored["probabilities"], dtype=float),
            np.asarray(stored["positive"], dtype=bool),
            stored.get("groups", {}),
            stored.get("importance", {}),
            stored.get("unexplained", 0),
        )


@dataclass(frozen=True)
class Band:
    """The validation rows that get one status."""

    status: str
    probabilities: str  # which probabilities get it, e.g. "above 0.5"
    rows: int
    positives: int
    share: float  # % of all rows, rounded to 0.1 so that the bands add up to exactly 100.0

    @property
    def positive_rate(self) -> float | None:
        """% of the band's rows that are of the positive class (None: no rows)."""
        return round(100 * self.positives / self.rows, 1) if self.rows else None


def generated_policy() -> DecisionPolicy:
    """The thresholds and labels answered at generation, whatever the environment overrides at serve time."""
    return DecisionPolicy(
        decline_threshold=settings.DECLINE_THRESHOLD,
        maybe_threshold=settings.MAYBE_THRESHOLD,
        declined_label=settings.DECLINED_LABEL,
        maybe_label=settings.MAYBE_LABEL,
        approved_label=settings.APPROVED_LABEL,
    )


def bands(validation: Validation, policy: DecisionPolicy) -> list[Band]:
    """The policy applied to each validation probability, as the service applies it, counted by status."""
    statuses = np.array([policy.decide(probability) for probability in validation.probabilities], dtype=object)
    decline, maybe = f"{policy.decline_threshold:g}", f"{policy.maybe_threshold:g}"
    ranges = {
        policy.declined_label: f"above {decline}",
        policy.maybe_label: f"above {maybe}, up to {decline}",
        policy.approved_label: f"{maybe} or below",
    }
    rows = {status: int((statuses == status).sum()) for status in ranges}
    shares = fairness.percentages(list(rows.values()))
    return [
        Band(status, ranges[status], rows[status], int(validation.positive[statuses == status].sum()), share)
        for status, share in zip(ranges, shares, strict=True)
    ]


def band_metadata(table: list[Band]) -> list[dict]:
    """The band table as model metadata (`bentoml models get <tag>`)."""
    return [
        {"status": band.status, "probability": band.probabilities, "rows": band.rows, "share_pct": band.share,
         "positives": band.positives} | ({"positive_rate_pct": band.positive_rate} if band.rows else {})
        for band in table
    ]  # fmt: skip


NEARLY_EMPTY_PCT = 1.0  # a status given to fewer validation rows than this says the thresholds do not fit the data


def nearly_empty(table: list[Band]) -> list[Band]:
    """The bands with under NEARLY_EMPTY_PCT % of the rows: imbalanced data under the generated thresholds."""
    return [band for band in table if band.share < NEARLY_EMPTY_PCT]


def summary(table: list[Band], validation: Validation, target: Target) -> str:
    """The band table as text, for the terminal."""
    positive = f"{target.column} = {target.positive_class}"
    rows = [("status", "probability", "rows", "share", positive)]
    rows += [(band.status, band.probabilities, f"{band.rows:,}", f"{band.share:.1f}%", _rate(band)) for band in table]
    rows.append(("all", "", f"{len(validation.probabilities):,}", "100.0%", _rate_of(validation.positive)))
    auc = f"validation AUC {validation.auc:.3f} on {len(validation.probabilities):,} held-out rows"
    return f"{auc}\n{aligned(rows)}"


def aligned(rows: list) -> str:
    """Rows of text cells in columns: the first two left-aligned, the others (figures) right-aligned."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join("  ".join(cell.rjust(width) if column >= 2 else cell.ljust(width)
                               for column, (cell, width) in enumerate(zip(row, widths, strict=True))).rstrip()
                     for row in rows)  # fmt: skip


def _rate(band: Band) -> str:
    return "-" if band.positive_rate is None else f"{band.positive_rate:.1f}%"


def _rate_of(positive: np.ndarray) -> str:
    return f"{100 * positive.mean():.1f}%"


# -- the card ---------------------------------------------------------------------------------------------


def write_card(bento_model: bentoml.Model, directory: Path = PROJECT_DIR) -> Path:
    """MODEL_CARD.md and model_card/*.png in `directory`, for `bento_model` with the generated thresholds."""
    validation, policy = Validation.of(bento_model), generated_policy()
    contract = model_store.trained_contract(bento_model)
    plots = directory / PLOTS_DIR
    plots.mkdir(parents=True, exist_ok=True)
    plot_roc(validation, policy, contract.target, plots / "roc.png")
    plot_scores(validation, policy, contract.target, plots / "scores.png")
    plot_calibration(validation, contract.target, plots / "calibration.png")
    plot_importance(validation, plots / "importance.png")
    card = directory / CARD_FILE
    card.write_text(card_markdown(bento_model, validation, policy, contract), encoding="utf-8")
    return card


def card_markdown(bento_model: bentoml.Model, validation: Validation, policy: DecisionPolicy, contract: Contract):
    metadata, table, target = bento_model.info.metadata, bands(validation, policy), contract.target
    positive = f"{_md(target.column)} = {_md(target.positive_class)}"
    rows = [f"| {_md(band.status)} | {band.probabilities} | {band.rows:,} | {band.share:.1f} % | "
            f"{_rate(band).replace('%', ' %')} |" for band in table]  # fmt: skip
    framework = bento_model.info.labels.get("framework", settings.FRAMEWORK)
    created = bento_model.info.creation_time.strftime("%Y-%m-%d %H:%M UTC")
    band_rows, all_rows = "\n".join(rows), len(validation.probabilities)
    return f"""# Model card: `{bento_model.tag}`

Written by `python train.py` for the model this project serves (`served_model.txt`), and rewritten by each
training and by `make promote`. Every number and plot comes from the {all_rows:,}
validation rows held out from training (20 %, both classes in proportion): rows the model never saw.

| | |
| --- | --- |
| model | `{bento_model.tag}` ({_md(framework)}), trained {created} |
| predicts | the probability that {positive} (the other class: {_md(target.negative_class)}) |
| trained on | {_md(str(metadata.get("data", "")))}: {metadata.get("train_rows", 0):,} rows |
| validation AUC | **{validation.auc:.3f}** on {all_rows:,} rows (Gini {validation.gini:.3f}, KS {validation.ks:.3f}) |
| reasons | {_md(str(metadata.get("reasons", "")))}{_unexplained(validation)} |

## What the thresholds do

With the thresholds chosen when the project was generated, each status gets this share of the validation
rows, and this share of those rows turned out to be {positive}:

| status | probability | rows | share | {positive} |
| --- | --- | ---: | ---: | ---: |
{band_rows}
| all | | {all_rows:,} | 100.0 % | {_rate_of(validation.positive).replace("%", " %")} |

The same table for other thresholds, and thresholds suggested for an approval rate or for what a false
approval costs against a false decline (printed, never applied):

```bash
python -m scoring.report --decline 0.6 --maybe 0.35
python -m scoring.report --approval-rate 0.7
python -m scoring.report --cost-ratio 5
```

Thresholds are applied when serving: `{settings.ENV_PREFIX}DECLINE_THRESHOLD` and
`{settings.ENV_PREFIX}MAYBE_THRESHOLD` (README.md, "Run-time configuration").

{groups_markdown(validation, policy, contract)}
## What drives the model

![Mean absolute contribution of each field to the log-odds, validation rows]({PLOTS_DIR}/importance.png)

Each field's mean absolute contribution to the predicted log-odds over the validation rows (exact tree
attributions, the ones that give a decision's reasons). Most of all: {_md(", ".join(list(validation.importance)[:5]))}.

## ROC curve

![ROC curve of the validation rows, with the two thresholds marked]({PLOTS_DIR}/roc.png)

Each point of the curve is a threshold: the share of {positive} rows above it (true positives) against
the share of {_md(target.negative_class)} rows above it (false positives). The two marked points are the
decline and maybe thresholds.

## Calibration

![Predicted probability against the observed share of {positive}, validation rows]({PLOTS_DIR}/calibration.png)

Rows grouped by predicted probability (ten bins of equal row counts): a calibrated model's points lie on the
diagonal, so a probability of 0.3 means about 30 % of such rows are {positive}.

## Probabilities of each class

![Predicted probabilities of the validation rows of each class, with the two thresholds]({PLOTS_DIR}/scores.png)

The further apart the two distributions, the better the model separates the classes; the lines are the
thresholds, and the rows between them get {_md(policy.maybe_label)}.
"""


def _unexplained(validation: Validation) -> str:
    if not validation.unexplained:
        return ""
    return (
        f"; **{validation.unexplained:,} validation rows not approved have no field that raised their "
        "probability**: their decision comes from the model's base rate, and their answers carry no reason"
    )


def groups_markdown(validation: Validation, policy: DecisionPolicy, contract: Contract) -> str:
    """The card's section on protected groups: a table per protected column, or why there is none."""
    heading = "## Who the thresholds affect\n\n"
    if not validation.groups:
        return heading + (
            "No protected column was named (`protected:` in contract.yaml, the `protected_columns` answer): the card "
            "reports on no group. Name the columns that hold protected characteristics (age, sex, marital "
            "status...) and retrain.\n"
        )
    positive = f"{_md(contract.target.column)} = {_md(contract.target.positive_class)}"
    explanation = (
        "For each protected column, the validation rows of each group: the share of each status, the share that "
        f"turned out to be {positive} (positive rate), the AUC within the group, the false-decline rate "
        "(declined, though not of the positive class) and the approval rate relative to the most-approved group; "
        f"⚠ marks a ratio below {fairness.FOUR_FIFTHS} (the four-fifths rule). Computed with fairlearn's "
        "MetricFrame; `python -m scoring.report --decline P --maybe P` shows them for other thresholds. A group of "
        "few rows gives rough figures."
    )
    parts = [heading + textwrap.fill(explanation, 110, break_on_hyphens=False, break_long_words=False) + "\n"]
    for column, table in validation.group_tables(policy).items():
        inputs = column in contract.fields
        use = ("**an input of the model**: its value moves the probability and can be a decision's reason, which "
               "can be a prohibited basis (ECOA): decide whether the model may use it" if inputs
               else "not an input of the model (not in the request)")  # fmt: skip
        header = "| " + " | ".join(fairness.COLUMNS.values()) + " |\n|" + " --- |" + " ---: |" * 8
        body = "\n".join("| " + " | ".join(_md(cell) for cell in fairness.cells(row)) + " |" for row in table)
        flagged = fairness.flagged(table)
        verdict = (f"Below four fifths: {_md(', '.join(flagged))}." if flagged
                   else "No group is approved at under four fifths of the most-approved group's rate.")  # fmt: skip
        parts.append(f"### `{_md(column)}`: {use}\n\n{header}\n{body}\n\n{verdict}\n")
    return "\n".join(parts)


MARKDOWN_SYNTAX = re.compile(r"[\\`*_\[\]<>&|~$#]")


def _md(text: str) -> str:
    """Text Markdown shows as it is, in a paragraph or a table cell."""
    return MARKDOWN_SYNTAX.sub(r"\\\g<0>", text)


# Labels and column names are text, not TeX: "$" must not start mathtext.
PLOT_STYLE = {"text.parse_math": False, "font.size": 9}


def _save(figure: Figure, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Glyph .* missing from font")  # an emoji in a label: drawn as a box
        figure.savefig(path, dpi=120)


def plot_roc(validation: Validation, policy: DecisionPolicy, target: Target, path: Path) -> None:
    false_positive, true_positive, _ = roc_curve(validation.positive, validation.probabilities)
    with rc_context(PLOT_STYLE):
        figure = Figure(figsize=(5, 5), layout="constrained")
        axes = figure.subplots()
        axes.plot(false_positive, true_positive, label=f"model (AUC {validation.auc:.3f})")
        axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance (AUC 0.5)")
        for threshold, name, color in ((policy.decline_threshold, "decline", "tab:red"),
                                       (policy.maybe_threshold, "maybe", "tab:orange")):  # fmt: skip
            above = validation.probabilities > threshold
            point = (above[~validation.positive].mean(), above[validation.positive].mean())
            axes.plot(*point, "o", color=color, label=f"{name} threshold {threshold:g}")
        axes.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", title="ROC curve, validation rows")
        axes.set_xlabel(f"false positive rate: {target.negative_class} rows above the threshold")
        axes.set_ylabel(f"true positive rate: {target.positive_class} rows above the threshold")
        axes.grid(alpha=0.3)
        axes.legend(loc="lower right")
        _save(figure, path)


def plot_calibration(validation: Validation, target: Target, path: Path) -> None:
    with rc_context(PLOT_STYLE):
        figure = Figure(figsize=(5, 5), layout="constrained")
        axes = figure.subplots()
        CalibrationDisplay.from_predictions(validation.positive, validation.probabilities, n_bins=10, ax=axes,
                                            name="model", strategy="quantile")  # fmt: skip
        axes.set(title="Calibration, validation rows", xlabel=f"predicted probability that {target.column} = "
                 f"{target.positive_class}", ylabel=f"observed share of {target.positive_class}")  # fmt: skip
        axes.grid(alpha=0.3)
        _save(figure, path)


def plot_importance(validation: Validation, path: Path) -> None:
    top = list(validation.importance.items())[:20][::-1]  # the largest at the top
    fields, values = [name for name, _ in top], [value for _, value in top]
    with rc_context(PLOT_STYLE):
        figure = Figure(figsize=(6, 1 + 0.3 * len(fields)), layout="constrained")
        axes = figure.subplots()
        axes.barh(fields, values, color="tab:blue")
        axes.set(title="What drives the model, validation rows", xlabel="mean absolute contribution (log-odds)")
        axes.grid(alpha=0.3, axis="x")
        _save(figure, path)


def plot_scores(validation: Validation, policy: DecisionPolicy, target: Target, path: Path) -> None:
    bins = np.linspace(0, 1, 41)
    with rc_context(PLOT_STYLE):
        figure = Figure(figsize=(7, 4), layout="constrained")
        axes = figure.subplots()
        for rows, name, color in ((~validation.positive, target.negative_class, "tab:blue"),
                                  (validation.positive, target.positive_class, "tab:red")):  # fmt: skip
            probabilities = validation.probabilities[rows]
            weights = np.full(len(probabilities), 100 / max(len(probabilities), 1))  # % of the class's rows
            axes.hist(probabilities, bins=bins, weights=weights, alpha=0.55, color=color,
                      label=f"{target.column} = {name} ({len(probabilities):,} rows)")  # fmt: skip
        for threshold, name in ((policy.maybe_threshold, "maybe"), (policy.decline_threshold, "decline")):
            axes.axvline(threshold, color="black", linestyle="--", linewidth=1)
            right = threshold < 0.8  # the text on the line's right, unless it would leave the plot
            axes.annotate(f"{name} {threshold:g}", (threshold, 1), xycoords=("data", "axes fraction"),
                          xytext=(3 if right else -3, -12), textcoords="offset points",
                          ha="left" if right else "right")  # fmt: skip
        for low, high, label in ((0, policy.maybe_threshold, policy.approved_label),
                                 (policy.maybe_threshold, policy.decline_threshold, policy.maybe_label),
                                 (policy.decline_threshold, 1, policy.declined_label)):  # fmt: skip
            short = textwrap.fill(textwrap.shorten(label, 40, placeholder="…"), 20)  # at most two lines
            axes.annotate(short, ((low + high) / 2, 1), xycoords=("data", "axes fraction"), xytext=(0, 4),
                          textcoords="offset points", ha="center", fontweight="bold")  # fmt: skip
        axes.set(xlim=(0, 1), xlabel=f"predicted probability that {target.column} = {target.positive_class}",
                 ylabel="% of the class's validation rows")  # fmt: skip
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncols=2, frameon=False)
        _save(figure, path)


# -- suggestions ------------------------------------------------------------------------------------------


def maybe_threshold_for_approval_rate(validation: Validation, rate: float) -> float:
    """The lowest threshold that approves at least `rate` of the validation rows (approved: at or below it)."""
    return float(np.quantile(validation.probabilities, rate, method="inverted_cdf"))


def cost_minimizing_cut(validation: Validation, cost_ratio: float) -> float:
    """The probability above which declining costs less than approving, on the validation rows: the cut that
    minimizes cost_ratio × (positive rows approved) + (other rows declined)."""
    order = np.argsort(validation.probabilities, kind="stable")
    probabilities, positive = validation.probabilities[order], validation.positive[order]
    approved_positives = np.cumsum(positive)  # a cut at row i approves rows 0..i
    declined_negatives = (~positive).sum() - np.cumsum(~positive)
    cost = cost_ratio * approved_positives + declined_negatives
    is_cut = np.append(probabilities[1:] != probabilities[:-1], True)  # no cut between equal probabilities
    return float(probabilities[np.argmin(np.where(is_cut, cost, np.inf))])


# -- command line -----------------------------------------------------------------------------------------


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def between_0_and_1(text: str) -> float:
    if not 0 < (value := _number(text)) < 1:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1 (exclusive)")
    return value


def positive_number(text: str) -> float:
    if not (math.isfinite(value := _number(text)) and value > 0):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scoring.report", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--decline", type=between_0_and_1, metavar="P", help="decline threshold (default: in force)")
    parser.add_argument("--maybe", type=between_0_and_1, metavar="P", help="maybe threshold (default: in force)")
    parser.add_argument("--approval-rate", type=between_0_and_1, metavar="SHARE",
                        help="suggest a maybe threshold approving this share of the rows, e.g. 0.7")  # fmt: skip
    parser.add_argument("--cost-ratio", type=positive_number, metavar="R",
                        help="suggest a decline threshold where a false approval costs R false declines")  # fmt: skip
    return parser.parse_args(argv)


def policy_with(policy: DecisionPolicy, decline: float | None = None, maybe: float | None = None) -> DecisionPolicy:
    """`policy` with other thresholds; SystemExit naming the problem when they do not make a policy."""
    changes = {"decline_threshold": decline, "maybe_threshold": maybe}
    try:
        return DecisionPolicy(**policy.model_dump() | {name: value for name, value in changes.items() if value})
    except ValidationError as error:
        raise SystemExit(f"error: {'; '.join(map(variable_problem, error.errors()))}") from None


def suggestions(args: argparse.Namespace, validation: Validation, policy: DecisionPolicy) -> list[tuple]:
    """(what, decline threshold, maybe threshold) for each suggestion asked for; None: keep the thresholds."""
    found = []
    if args.approval_rate:
        maybe = round(maybe_threshold_for_approval_rate(validation, args.approval_rate), 4)
        approved = 100 * (validation.probabilities <= maybe).mean()
        found.append((f"approving {100 * args.approval_rate:g}% of the rows: --maybe {maybe:g} approves "
                      f"{approved:.1f}%", policy.decline_threshold, maybe))  # fmt: skip
    if args.cost_ratio:
        cut = round(cost_minimizing_cut(validation, args.cost_ratio), 4)
        what = f"a false approval costing {args.cost_ratio:g} false declines: declining costs less above {cut:g}"
        if cut < policy.maybe_threshold:
            found.append((f"{what}, so approve nothing above it: --maybe {cut:g}", policy.decline_threshold, cut))
        elif cut > policy.decline_threshold:
            found.append((f"{what}, so decline nothing below it: --decline {cut:g}", cut, policy.maybe_threshold))
        else:
            found.append((f"{what}, between the maybe and decline thresholds: keep them", None, None))
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bento_model = model_store.served_model()
    validation, target = Validation.of(bento_model), model_store.trained_contract(bento_model).target
    policy = policy_with(load_policy(), args.decline, args.maybe)
    print(f"{bento_model.tag}: {summary(bands(validation, policy), validation, target)}")
    for column, table in validation.group_tables(policy).items():
        print(f"\nby {column}:\n{aligned([list(fairness.COLUMNS.values()), *map(fairness.cells, table)])}")
    for what, decline, maybe in suggestions(args, validation, policy):
        print(f"\nSuggested for {what} (not applied)")
        if decline is None:
            continue
        if not 0 < maybe < decline < 1:
            print(f"but --maybe {maybe:g} is not below --decline {decline:g}: move the other threshold too "
                  "(check with --decline and --maybe)")  # fmt: skip
            continue
        print(summary(bands(validation, policy_with(policy, decline, maybe)), validation, target).partition("\n")[2])
        print(f"to serve it: {settings.ENV_PREFIX}DECLINE_THRESHOLD={decline:g} "
              f"{settings.ENV_PREFIX}MAYBE_THRESHOLD={maybe:g} bentoml serve")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
