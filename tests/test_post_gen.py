"""The post-gen hook: training at generation, and what happens when it cannot train."""

import textwrap

from conftest import run_cookiecutter

# Imported by every Python started with PYTHONPATH=<its folder>: makes `xgboost` look uninstalled.
HIDE_XGBOOST = textwrap.dedent("""
    import sys

    class HideXGBoost:
        def __init__(self, finder):
            self.finder = finder

        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] == "xgboost":
                return None
            return self.finder.find_spec(name, path, target)

    sys.meta_path[:] = [HideXGBoost(finder) for finder in sys.meta_path]
""")


def test_missing_framework_keeps_the_project_and_says_how_to_train(cookies, tmp_path, monkeypatch, capfd):
    (tmp_path / "sitecustomize.py").write_text(HIDE_XGBOOST)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("BENTOML_HOME", str(tmp_path / "bentoml_home"))
    result = cookies.bake()
    assert result.exit_code == 0
    assert (result.project_path / "train.py").is_file()
    output = capfd.readouterr().out
    assert "The model was NOT trained: xgboost not installed here" in output
    assert "pip install -r requirements.txt && python train.py" in output
    assert not (tmp_path / "bentoml_home" / "models").exists()


def test_failing_training_is_reported(cookies, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("BENTOML_HOME", str(tmp_path / "not-a-dir"))
    (tmp_path / "not-a-dir").write_text("a file where the model store should be")
    result = cookies.bake()
    assert result.exit_code == 0
    assert "The model was NOT trained: train.py failed (see above)" in capfd.readouterr().out


def test_the_closing_hint_names_the_folder_the_project_is_in(tmp_path):
    result = run_cookiecutter(tmp_path)  # -o newout, from tmp_path (as a shell's PWD says)
    assert result.returncode == 0, result.stderr
    assert "Ready. Serve it with: cd newout/credit-risk-service && bentoml serve" in result.stdout
