"""Template releases: one version, named alike in cookiecutter.json, the README, the CHANGELOG and each project."""

import json
import re

from conftest import TEMPLATE_DIR

VERSION = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))["_template_version"]


def release(version: str) -> tuple[int, ...]:
    return tuple(map(int, version.split(".")))


def test_the_release_is_named_alike_in_the_readme_and_the_changelog():
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION)
    readme = (TEMPLATE_DIR / "README.md").read_text(encoding="utf-8")
    assert f"**Version {VERSION}** (what changed" in readme
    changelog = (TEMPLATE_DIR / "CHANGELOG.md").read_text(encoding="utf-8")
    assert not re.findall(r"--checkout\s+v\d|git tag `v", readme + changelog)  # tags do not reach the published repo
    releases = re.findall(r"^## (\d+\.\d+\.\d+)", changelog, re.M)
    assert releases[0] == VERSION, "the newest release first"
    assert releases == sorted(releases, key=release, reverse=True)


def test_a_project_names_its_release(bake):
    project = bake(train_on_generate="no")
    assert json.loads((project.path / ".cookiecutter.json").read_text())["template_version"] == VERSION
    readme = (project.path / "README.md").read_text()
    assert f"Generated from release {VERSION} of the template" in readme
    assert "--no-input --config-file .cookiecutter.json" in readme and not re.search(r"--checkout\s+v\d", readme)
