"""Check the answers before any file is written: each problem is one line naming the field.

(Cookiecutter itself rejects a choice outside its list, e.g. framework=foo.)
"""

import math
import re
import sys

ANSWERS = {
    "project_slug": {{ cookiecutter.project_slug | tojson }},
    "service_name": {{ cookiecutter.service_name | tojson }},
    "model_name": {{ cookiecutter.model_name | tojson }},
    "decline_threshold": {{ cookiecutter.decline_threshold | tojson }},
    "maybe_threshold": {{ cookiecutter.maybe_threshold | tojson }},
    "declined_label": {{ cookiecutter.declined_label | tojson }},
    "maybe_label": {{ cookiecutter.maybe_label | tojson }},
    "approved_label": {{ cookiecutter.approved_label | tojson }},
    "docker_image": {{ cookiecutter.docker_image | tojson }},
    "python_version": {{ cookiecutter.python_version | tojson }},
}
# BentoML tag names: lowercase letters, digits, '_', '-' and '.', starting and ending alphanumeric.
BENTOML_NAME = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?")
PYTHON_VERSION = re.compile(r"3\.(9|1[0-3])")
DOCKER_IMAGE = re.compile(r"[a-z0-9][\w.:/@-]*")


def name_errors() -> list[str]:
    return [
        f"{field}: {ANSWERS[field]!r} is not a valid BentoML name "
        "(1-63 lowercase letters, digits, '_', '-' or '.', starting and ending with a letter or digit)"
        for field in ("project_slug", "service_name", "model_name")
        if not BENTOML_NAME.fullmatch(ANSWERS[field])
    ]


def threshold_errors() -> list[str]:
    thresholds, errors = {}, []
    for field in ("decline_threshold", "maybe_threshold"):
        try:
            thresholds[field] = float(ANSWERS[field])
        except ValueError:
            errors.append(f"{field}: {ANSWERS[field]!r} is not a number")
            continue
        if not (math.isfinite(thresholds[field]) and 0 < thresholds[field] < 1):
            errors.append(f"{field}: {ANSWERS[field]} must be between 0 and 1 (exclusive)")
    if not errors and thresholds["maybe_threshold"] >= thresholds["decline_threshold"]:
        errors.append(
            f"maybe_threshold: {ANSWERS['maybe_threshold']} must be lower than "
            f"decline_threshold ({ANSWERS['decline_threshold']})"
        )
    return errors


def label_errors() -> list[str]:
    errors, seen = [], {}
    for field in ("declined_label", "maybe_label", "approved_label"):
        label = ANSWERS[field].strip()
        if not label:
            errors.append(f"{field}: must not be empty")
        elif label in seen:
            errors.append(f"{field}: {label!r} is already the {seen[label]}; the three labels must differ")
        seen.setdefault(label, field)
    return errors


def format_errors() -> list[str]:
    errors = []
    if not PYTHON_VERSION.fullmatch(ANSWERS["python_version"]):
        errors.append(f"python_version: {ANSWERS['python_version']!r} must be one of 3.9 to 3.13")
    if not DOCKER_IMAGE.fullmatch(ANSWERS["docker_image"]):
        errors.append(f"docker_image: {ANSWERS['docker_image']!r} is not an image reference (e.g. registry/name:tag)")
    return errors


def main() -> int:
    errors = name_errors() + threshold_errors() + label_errors() + format_errors()
    for error in errors:
        print(f"ERROR: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
