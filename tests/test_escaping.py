"""Free-text answers read back exactly from every file they are rendered into: TOML, YAML, Python, Markdown."""

import html
import shlex
import subprocess
import sys
import tomllib

import httpx
import pytest
import yaml
from live_service import band_examples, running_service
from markdown_it import MarkdownIt

ANSWERS = {
    "project_name": 'Zoë\'s "Prêt" \\ \\1 #1 *[x](y)* a|b `c` <br> Кредит 信用 😀',  # \\1: a regex group
    "author": 'Ünal O\'Brien "Jo" \\ 😀',
    "declined_label": 'NON "no" 😀',
    "maybe_label": "Peut-être | `maybe` \\ #2 _x_ $x^$",  # $...$: TeX to matplotlib, and "x^" no valid TeX
    "approved_label": "OUI 'sí' — " + " ".join(["très bien"] * 12),  # a line of settings.py over ruff's 120
    "docker_image": "yes",  # YAML's true, unquoted
}
LABELS = [ANSWERS["declined_label"], ANSWERS["maybe_label"], ANSWERS["approved_label"]]


@pytest.fixture(scope="module")
def project(bake):
    return bake(**ANSWERS)


def markdown_text(inline) -> str:
    """What Markdown shows for an inline token: its text, without any markup it was parsed into."""
    return "".join(child.content for child in inline.children if child.type in ("text", "code_inline"))


def test_toml(project):
    pyproject = tomllib.loads((project.path / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert pyproject["description"] == f"{ANSWERS['project_name']}: a BentoML decision service"
    assert pyproject["authors"] == [{"name": ANSWERS["author"]}]


def test_yaml(project):
    bentofile = yaml.safe_load((project.path / "bentofile.yaml").read_text(encoding="utf-8"))
    assert bentofile["labels"]["owner"] == ANSWERS["author"]
    deployment = yaml.safe_load((project.path / "k8s" / "deployment.yaml").read_text(encoding="utf-8"))
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "yes"
    assert [variable["value"] for variable in container["env"] if variable["name"].endswith("_THRESHOLD")] == [
        "0.5", "0.3"
    ]  # fmt: skip


def test_python(project):
    assert [project.setting(name) for name in ("DECLINED_LABEL", "MAYBE_LABEL", "APPROVED_LABEL")] == LABELS


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_rendered_python_is_ruff_clean(project, command):
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "--no-cache", "."], cwd=project.path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_markdown(project):
    tokens = MarkdownIt("commonmark").enable("table").parse((project.path / "README.md").read_text(encoding="utf-8"))
    title = next(index for index, token in enumerate(tokens) if token.tag == "h1")
    assert markdown_text(tokens[title + 1]) == ANSWERS["project_name"]
    first_table = tokens[: next(index for index, token in enumerate(tokens) if token.type == "table_close")]
    cells = [markdown_text(first_table[at + 1]) for at, token in enumerate(first_table) if token.type == "td_open"]
    assert cells == ["above 0.5", LABELS[0], "above 0.3", LABELS[1], "otherwise", LABELS[2]]


def test_the_model_card_shows_the_labels_as_typed(project):
    card = (project.path / "MODEL_CARD.md").read_text(encoding="utf-8")
    tokens = MarkdownIt("commonmark").enable("table").parse(card)
    cells = [markdown_text(tokens[at + 1]) for at, token in enumerate(tokens) if token.type == "td_open"]
    assert [cell for cell in cells if cell in LABELS] == LABELS
    assert (project.path / "model_card" / "scores.png").is_file()


def test_the_project_trains_and_serves_its_labels_and_its_name(project):
    with running_service(project.path, project.env) as url:
        examples = band_examples(url, project.validation_records())
        page = httpx.get(f"{url}/").text
    assert sorted(examples) == sorted(LABELS)
    assert f"<title>{html.escape(ANSWERS['project_name'])}</title>" in page


def test_a_data_path_with_quotes_emoji_and_backticks(bake, tmp_path):
    data = tmp_path / 'données "😀" `x`' / 'loans "😀" `x`.csv'
    data.parent.mkdir()
    rows = "".join(f"{i},{'car' if i % 3 else 'home'},{i % 2}\n" for i in range(60))
    data.write_text(f"amount,purpose,deny it\n{rows}")
    project = bake(data_path=str(data), target_column="deny it", positive_class="1", train_on_generate="no")
    assert project.setting("DATA_PATH") == str(data)
    assert project.contract["target"]["column"] == "deny it"
    readme = (project.path / "README.md").read_text(encoding="utf-8")
    tokens = MarkdownIt().parse(readme)
    code_spans = [child.content for token in tokens for child in token.children or [] if child.type == "code_inline"]
    assert data.name in code_spans  # the README names the data by its file name only
    [infer] = [shlex.split(line) for line in readme.splitlines() if line.startswith("python -m scoring.contract infer")]
    assert infer[infer.index("--target") + 1 :][:3] == ["deny it", "--positive", "1"]
