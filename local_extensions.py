"""The answers' checks, run before cookiecutter creates or renders anything, and the filters that render answers.

Cookiecutter runs hooks/pre_gen_project.py only once it has created the project folder, and deletes
that folder if the hook fails: with `-o new-folder project_slug=..` that folder was the user's current
directory. It also renders every answer given on the command line or in an answers file as Jinja
before any hook runs, so a label could run a shell command. A Jinja extension is the one piece of a
template that cookiecutter loads earlier: each time it builds its Jinja environment, before it
prompts and again before it generates. `cookiecutter.json` names this one under `_extensions`.

Each problem is one line naming the field; all of them are reported at once.

The filters write an answer the way each file format reads it back exactly (`quoted` for TOML and YAML,
`python_string`, `markdown`, `markdown_code`, `shell`), write them all to the project's answers file
(`answers_file`), derive `service_name` from `project_slug`, and the image repository that `make containerize`
tags versions in from `docker_image`.
"""

import csv
import functools
import json
import logging
import math
import re
import shlex
import sys
from pathlib import Path

from cookiecutter import prompt
from cookiecutter.exceptions import FailedHookException
from cookiecutter.extensions import SlugifyExtension
from cookiecutter.prompt import YesNoPrompt
from jinja2 import Environment
from jinja2.ext import Extension
from slugify import slugify

TEMPLATE_DEFAULTS = json.loads((Path(__file__).resolve().parent / "cookiecutter.json").read_text(encoding="utf-8"))
QUESTIONS = {key: value for key, value in TEMPLATE_DEFAULTS.items() if not key.startswith("_")}
TEXT_FIELDS = [key for key, value in QUESTIONS.items() if isinstance(value, str)]
YES_NO_FIELDS = [key for key, value in QUESTIONS.items() if isinstance(value, bool)]
CHOICES = {key: value for key, value in QUESTIONS.items() if isinstance(value, list)}
NUMBER_FIELDS = ("decline_threshold", "maybe_threshold")  # an answers file may give these as YAML numbers
# Private values cookiecutter renders (`__env_prefix`...): an answer given for one is rendered as Jinja too.
RENDERED_PRIVATE = [key for key, value in TEMPLATE_DEFAULTS.items() if key.startswith("__") and isinstance(value, str)]
# Defaults derived from other answers (project_slug from project_name...), with the answers they use.
DERIVED = {
    field: set(re.findall(r"cookiecutter\.(\w+)", TEMPLATE_DEFAULTS[field]))
    for field in TEXT_FIELDS
    if "{{" in TEMPLATE_DEFAULTS[field]
}

# BentoML tag names: lowercase letters, digits, '_', '-' and '.', starting and ending alphanumeric.
BENTOML_NAME = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?")
# Also a Kubernetes (DNS-1035) name once '_' becomes '-', and an environment variable prefix.
SERVICE_NAME = re.compile(r"[a-z](?:[a-z0-9_]{0,61}[a-z0-9])?")
THRESHOLD = re.compile(r"[0-9]*\.?[0-9]+")  # ASCII digits only: float() also reads "٠.٣"
# The Pythons every pinned package has wheels for: numpy 2.4 needs 3.11 or newer, and 3.14 is the newest
# BentoML 1.4.40 builds images with.
PYTHON_VERSIONS = ("3.11", "3.12", "3.13", "3.14")
DOCKER_IMAGE = re.compile(r"[a-z0-9][\w.:/@-]*", re.ASCII)
JINJA = re.compile(r"{{|{%|{#|}}|%}|#}")
# What no answer may hold: control characters (a line break added a line to pyproject.toml), the Unicode
# line and paragraph separators (YAML reads them as line breaks) and what YAML cannot hold (surrogates,
# U+FFFE, U+FFFF). What is left is valid as is in TOML, YAML, Python and Markdown once quoted or escaped.
NOT_TEXT = re.compile("[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# The characters that start inline Markdown: emphasis, code, links, HTML and entities, table cells,
# strikethrough and math (GitHub), a heading's closing #s, and the backslash itself.
MARKDOWN_SYNTAX = re.compile(r"[\\`*_\[\]<>&|~$#]")


def quoted(value) -> str:
    """A double-quoted string that TOML and YAML read back as `value`: JSON's escapes (\\" and \\\\, the only
    ones left once control characters are refused) mean the same in both. Non-ASCII stays as it is: `tojson`
    writes an emoji as a JSON surrogate pair (\\ud83d\\ude00), which TOML refuses."""
    return json.dumps(str(value), ensure_ascii=False)


def python_string(value) -> str:
    """A Python string literal as ruff format writes it: double quotes, single ones when `value` holds more
    double quotes than single ones."""
    quote = "'" if value.count('"') > value.count("'") else '"'
    return quote + value.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def markdown(value: str) -> str:
    """Text Markdown shows as it is, in a paragraph, a heading or a table cell."""
    return MARKDOWN_SYNTAX.sub(r"\\\g<0>", value)


def markdown_code(value: str) -> str:
    """An inline code span showing `value` as it is (outside tables). Backslashes do not escape in code: the
    fence is one backtick longer than any run inside, and a space Markdown strips pads an edge that is one."""
    fence = "`" * (max(map(len, re.findall("`+", value)), default=0) + 1)
    pad = " " if value[:1] in "` " or value[-1:] in "` " else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def answers_file(context: dict) -> str:
    """The answers a project was generated with, as a cookiecutter user config that `--config-file` gives back to
    cookiecutter or cruft: JSON, which YAML reads. Private values (pins, `_template`, cruft's `_commit`) are left
    out: they come with the template release, named beside the answers. Non-ASCII stays as it is: `jsonify`
    writes an emoji as a JSON surrogate pair, which YAML reads back as two lone surrogates."""
    answers = {key: value for key, value in context.items() if not key.startswith("_")}
    config = {"template_version": context["_template_version"], "default_context": answers}
    return json.dumps(config, ensure_ascii=False, indent=4)


def image_repository(image: str) -> str:
    """`image` without its tag: registry.example.com:5000/loan:1.2 -> registry.example.com:5000/loan (a colon
    before the last slash is a registry's port)."""
    return image.rpartition(":")[0] if ":" in image.rpartition("/")[2] else image


def name_from_data(data_path: str, default: str) -> str:
    """project_name's default: the CSV's file name in words (telco_churn.csv: Telco Churn), else `default`: projects
    from different data get names, models and services of their own in one model store."""
    words = [word for word in re.split(r"[\W_]+", Path(data_path.strip()).stem) if word] if data_path.strip() else []
    return " ".join(word[:1].upper() + word[1:] for word in words) if words else default


def service_name(project_slug: str) -> str:
    """service_name's default: the slug's words joined by '_', after `service_` where it would start with a
    digit, in at most 57 characters: BentoML names stop at 63, and model_name adds `_model`."""
    name = slugify(project_slug, separator="_")
    return slugify(f"service_{name}" if name[:1].isdigit() else name, separator="_", max_length=57)


FILTERS = {
    "quoted": quoted,
    "python_string": python_string,
    "markdown": markdown,
    "markdown_code": markdown_code,
    "shell": shlex.quote,
    "service_name": service_name,
    "name_from_data": name_from_data,
    "image_repository": image_repository,
    "file_name": lambda path: Path(path).name,
    "answers_file": answers_file,
}
# Renders cookiecutter.json's derived defaults, to tell them from answers given.
DERIVED_DEFAULTS = Environment(extensions=[SlugifyExtension])
DERIVED_DEFAULTS.filters.update(FILTERS)


class InvalidAnswers(FailedHookException):
    """Cookiecutter's command line prints this exception type as a plain message, without a traceback."""


class CheckAnswers(Extension):
    def __init__(self, environment) -> None:
        super().__init__(environment)
        environment.filters.update(FILTERS)
        logging.getLogger("cookiecutter.hooks").addFilter(_without_traceback)
        _check_each_answer_as_typed()
        answers = _answers_being_loaded(environment)
        if answers is None:
            return
        problems = answers_file_problems(_answers_file()) or unsafe_answers(answers)
        if not problems and not _still_to_render(answers):
            problems = answer_problems(answers)  # every answer is final: check them all, together
            if not problems and answers.get("data_path"):
                # Relative to where cookiecutter was run: it has not yet moved into the template folder.
                answers["data_path"] = str(Path(answers["data_path"]).expanduser().resolve())
        if problems:
            raise InvalidAnswers("\n".join(f"ERROR: {problem}" for problem in problems))


# The questions asked only with a CSV (data_path), and only without one.
WITH_DATA = ("target_column", "positive_class", "exclude_columns", "protected_columns")
WITHOUT_DATA = ("use_case",)


def _check_each_answer_as_typed() -> None:
    """At the prompts, each answer is checked as it is typed and asked again until it is right (cookiecutter
    would take all 20 first, and --replay would replay the bad one); questions that do not apply to the
    answers so far (a CSV's questions without a CSV, the built-in example after one) are not asked. The
    checks are those made before generation, reported for the question being answered."""
    if getattr(prompt.read_user_variable, "checked", False):
        return
    ask, choose = prompt.read_user_variable, prompt.prompt_choice_for_config

    def read_checked(var_name, default_value, prompts=None, prefix=""):
        answers = _answers_so_far()
        if var_name in WITH_DATA and not str(answers.get("data_path", "")).strip():
            return default_value
        while True:
            value = ask(var_name, default_value, prompts, prefix)
            if not (problems := typed_problems(var_name, {**answers, var_name: value})):
                return value
            print("\n".join(f"ERROR: {problem}" for problem in problems), file=sys.stderr)

    def choose_applying(cookiecutter_dict, env, key, options, no_input, *args, **kwargs):
        skip = key in WITHOUT_DATA and str(cookiecutter_dict.get("data_path", "")).strip()
        return choose(cookiecutter_dict, env, key, options, no_input or bool(skip), *args, **kwargs)

    read_checked.checked = True
    prompt.read_user_variable, prompt.prompt_choice_for_config = read_checked, choose_applying


def _answers_so_far() -> dict:
    """The answers prompt_for_config has collected before the question being asked (its local dict)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "prompt_for_config":
            return dict(frame.f_locals.get("cookiecutter_dict", {}))
        frame = frame.f_back
    return {}


def typed_problems(field: str, answers: dict) -> list[str]:
    """The problems of `field`'s answer given the answers so far (the questions still to come at their defaults,
    their derived ones left out: they are checked once answered)."""
    checked = {key: "" if key in DERIVED else value for key, value in TEMPLATE_DEFAULTS.items()} | answers
    problems = unsafe_answers({field: checked[field]}) or answer_problems(checked)
    return [problem for problem in problems if problem.partition(":")[0] == field]


def _without_traceback(record: logging.LogRecord) -> bool:
    """cookiecutter 2.7 logs a failed hook with its own traceback, after the hook's one line saying why."""
    if str(record.msg).startswith("Stopping generation because"):
        record.exc_info = record.exc_text = None
    return True


def _answers_being_loaded(environment) -> dict | None:
    """The answers cookiecutter is building `environment` for.

    Cookiecutter passes them to the environment's constructor (ExtensionLoaderMixin.__init__) but
    does not keep them on it, so they are read from that constructor's frame."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_locals.get("self") is environment and isinstance(frame.f_locals.get("context"), dict):
            return frame.f_locals["context"].get("cookiecutter")
        frame = frame.f_back
    return None


def _answers_file() -> dict:
    """The user config's `default_context` (`--config-file`, ~/.cookiecutterrc): the answers file.

    cookiecutter's main() (and cruft) keep the user config in a local `config_dict` and pass it on to nothing
    this extension sees, so it is read from that frame."""
    frame = sys._getframe(1)
    while frame is not None:
        config = frame.f_locals.get("config_dict")
        if isinstance(config, dict) and isinstance(config.get("default_context"), dict):
            return config["default_context"]
        frame = frame.f_back
    return {}


def _still_to_render(answers: dict) -> bool:
    """Whether cookiecutter has yet to render the derived defaults: it builds an environment to, before prompting."""
    return any(isinstance(answers.get(key), str) and JINJA.search(answers[key]) for key in DERIVED)


def answers_file_problems(file_answers: dict) -> list[str]:
    """Choices and yes/no answers of the answers file that cookiecutter cannot apply: it only warns (buried in
    its output), then ignores that answer and every one after it in the file."""
    problems = []
    for field, value in file_answers.items():
        if field in CHOICES and value not in CHOICES[field]:
            problems.append(f"{field}: {value!r} is not one of {', '.join(CHOICES[field])}")
        elif field in YES_NO_FIELDS and not _yes_or_no(value):
            problems.append(f"{field}: {value!r} is not yes or no")
    return problems


def _yes_or_no(value) -> bool:
    """What cookiecutter reads as a yes/no answer: a boolean, or a word its yes/no prompt accepts."""
    words = YesNoPrompt.yes_choices + YesNoPrompt.no_choices
    return isinstance(value, bool) or isinstance(value, str) and value.strip().lower() in words


def unsafe_answers(answers: dict) -> list[str]:
    """Answers cookiecutter must not render: Jinja syntax, control characters, or not text at all
    (an answers file's unquoted yes/no/1 is read by YAML as a boolean or a number)."""
    problems = []
    for field in TEXT_FIELDS + RENDERED_PRIVATE:
        value = answers.get(field, "")
        if value == TEMPLATE_DEFAULTS[field] or (field in NUMBER_FIELDS and type(value) in (int, float)):
            continue
        if not isinstance(value, str):
            problems.append(f"{field}: YAML read {value!r}, not text: quote the answer in the answers file")
        elif JINJA.search(value):
            problems.append(f"{field}: must not contain Jinja syntax ({{{{, {{%, {{#): answers are text, not templates")
        elif NOT_TEXT.search(value):
            problems.append(f"{field}: must not contain control characters such as a line break")
    for field in YES_NO_FIELDS:
        if not isinstance(answers.get(field, True), bool):
            problems.append(f"{field}: {answers[field]!r} is not yes or no")
    return problems


def answer_problems(answers: dict) -> list[str]:
    checks = (name_problems, data_problems, threshold_problems, label_problems, format_problems)
    problems = [problem for check in checks for problem in check(answers)]
    # A default derived from a refused answer (service_name from project_slug...) goes with it, unreported.
    refused, unreported = {problem.partition(":")[0] for problem in problems}, set()
    for field, uses in DERIVED.items():
        if uses & refused and _is_derived(field, answers):
            refused.add(field)
            unreported.add(field)
    return [problem for problem in problems if problem.partition(":")[0] not in unreported]


def _is_derived(field: str, answers: dict) -> bool:
    """Whether `field` holds the default cookiecutter.json derives for it rather than an answer given."""
    return answers[field] == DERIVED_DEFAULTS.from_string(TEMPLATE_DEFAULTS[field]).render(cookiecutter=answers)


def name_problems(answers: dict) -> list[str]:
    problems = []
    if not answers["project_slug"] and not slugify(answers["project_name"]):
        problems.append(
            f"project_name: {answers['project_name']!r} has no letter or digit to derive project_slug "
            "(the folder name) from"
        )
    problems += [
        f"{field}: {answers[field]!r} is not a valid BentoML name "
        "(1-63 lowercase letters, digits, '_', '-' or '.', starting and ending with a letter or digit)"
        for field in ("project_slug", "model_name")
        if not BENTOML_NAME.fullmatch(answers[field])
    ]
    if not SERVICE_NAME.fullmatch(answers["service_name"]):
        problems.append(
            f"service_name: {answers['service_name']!r} must be 1-63 lowercase letters, digits or '_', "
            "starting with a letter (it also names the Kubernetes objects and the environment variables)"
        )
    return problems


def data_problems(answers: dict) -> list[str]:
    needs_data = ("target_column", "positive_class", "exclude_columns", "protected_columns")
    if not answers["data_path"]:
        return [f"{field}: only used with data_path (a CSV to train on)" for field in needs_data if answers[field]]
    path = Path(answers["data_path"]).expanduser()
    if not path.is_file():
        return [f"data_path: {answers['data_path']}: {'not a file' if path.exists() else 'no such file'}"]
    if unreadable := file_problems(path):
        return [unreadable]
    if not answers["target_column"].strip():
        return ["target_column: required with data_path"]
    required = [] if answers["positive_class"].strip() else ["positive_class: required with data_path"]
    return column_problems(path, answers, check_positive=not required) + required


def _version(path: Path) -> tuple[str, int, int]:
    """The file as the reads below are cached by: each prompt checks the answers so far, the file's among them."""
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size


def file_problems(path: Path) -> str:
    """Why the file at `path` is no CSV the project can read, as a data_path problem ("" if it is one)."""
    return _file_problems(*_version(path))


@functools.lru_cache(maxsize=4)
def _file_problems(name: str, mtime_ns: int, size: int) -> str:
    path = Path(name)
    try:
        with path.open("rb") as file:
            if b"\0" in file.read(64 * 1024):
                return f"data_path: {path.name} is not a CSV (it holds NUL bytes)"
        with path.open(newline="", encoding="utf-8-sig") as file:  # (Excel's "CSV UTF-8" starts with a BOM)
            for _ in csv.reader(file):
                pass
    except UnicodeDecodeError:
        return f"data_path: {path.name} is not UTF-8 text"
    except csv.Error as error:
        return f"data_path: {path.name} is not a readable CSV ({error})"
    return ""


def column_problems(path: Path, answers: dict, check_positive: bool = True) -> list[str]:
    """The data answers the CSV's header and target values refute, read with the standard library (the
    project's own packages may not be installed where cookiecutter runs); the file reads (file_problems)."""
    target = answers["target_column"]
    header, values = _header_and_values(*_version(path), target)
    if target not in header:
        return [f"target_column: {target!r} is not a column of {path.name}; its columns are {_listed(header)}"]
    problems = [
        f"{field}: {', '.join(map(repr, unknown))} is not a column of {path.name}; its columns are {_listed(header)}"
        for field in ("exclude_columns", "protected_columns")
        if (unknown := [name for name in _names(answers[field]) if name not in header])
    ]
    if len(values) != 2:
        count = f"over {MOST_LISTED}" if len(values) > MOST_LISTED else len(values)
        problems.append(f"target_column: {target} has {count} values ({_listed(sorted(values))}); the "
                        "model predicts one of exactly two")  # fmt: skip
    elif check_positive and answers["positive_class"] not in values:
        problems.append(f"positive_class: {answers['positive_class']!r} is not a value of {target}; its values "
                        f"are {_listed(sorted(values))}")  # fmt: skip
    if target in _names(answers["protected_columns"]):
        problems.append(f"protected_columns: {target} is the target_column, which cannot be a protected column")
    return problems


@functools.lru_cache(maxsize=4)
def _header_and_values(name: str, mtime_ns: int, size: int, target: str) -> tuple[list[str], set[str]]:
    """The CSV's header, and the target's values (up to one more than MOST_LISTED; none without the column)."""
    with Path(name).open(newline="", encoding="utf-8-sig") as file:
        rows = csv.reader(file)
        header, values = next(rows, []), set()
        if target not in header:
            return header, values
        index = header.index(target)
        for row in rows:
            if len(row) > index and row[index] not in PANDAS_MISSING:
                values.add(row[index])
                if len(values) > MOST_LISTED:  # enough to say the target is no two-valued column
                    break
    return header, values


# The texts pandas reads as missing (read_csv's default na_values): inference leaves those rows out.
PANDAS_MISSING = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
                  "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}  # fmt: skip


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


MOST_LISTED = 10


def _listed(names: list[str], most: int = MOST_LISTED) -> str:
    """The first `most` names, and how many more, cut to a line."""
    shown = ", ".join(name[:40] for name in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "") if names else "none"


def threshold_problems(answers: dict) -> list[str]:
    thresholds, problems = {}, []
    for field in NUMBER_FIELDS:
        text = str(answers[field]).strip()
        if not THRESHOLD.fullmatch(text):
            problems.append(f"{field}: {text!r} is not a number such as 0.5")
            continue
        thresholds[field] = float(text)
        if not (math.isfinite(thresholds[field]) and 0 < thresholds[field] < 1):
            problems.append(f"{field}: {text} must be between 0 and 1 (exclusive)")
    if not problems and thresholds["maybe_threshold"] >= thresholds["decline_threshold"]:
        problems.append(
            f"maybe_threshold: {answers['maybe_threshold']} must be lower than "
            f"decline_threshold ({answers['decline_threshold']})"
        )
    return problems


def label_problems(answers: dict) -> list[str]:
    problems, seen = [], {}
    for field in ("declined_label", "maybe_label", "approved_label"):
        label = answers[field].strip()
        if not label:
            problems.append(f"{field}: must not be empty")
        elif label in seen:
            problems.append(f"{field}: {label!r} is already the {seen[label]}; the three labels must differ")
        seen.setdefault(label, field)
    return problems


def format_problems(answers: dict) -> list[str]:
    problems = []
    if answers["python_version"] not in PYTHON_VERSIONS:
        version, numpy = answers["python_version"], TEMPLATE_DEFAULTS["_service_packages"]["numpy"]
        problems.append(
            f"python_version: {version!r} must be one of {', '.join(PYTHON_VERSIONS)}, the Pythons every pinned "
            f"package supports (numpy {numpy} needs 3.11 or newer)"
        )
    if not DOCKER_IMAGE.fullmatch(answers["docker_image"]):
        problems.append(f"docker_image: {answers['docker_image']!r} is not an image reference (e.g. registry/name:tag)")
    elif "@" in answers["docker_image"]:
        problems.append(
            f"docker_image: {answers['docker_image']!r} is a digest; give a tag (e.g. registry/name:tag): "
            "make containerize tags the image it builds with it"
        )
    return problems
