"""Property-based testing of the generated service's API against its own OpenAPI document (schemathesis).

Every phase that applies runs on every operation with every check: valid data is accepted, invalid
data refused with a documented 4xx, every answer matches the documented schema, status and headers.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHARED_DATA
from live_service import running_service

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
DATA_SETS = {
    "credit risk": {},
    "titanic": {"data_path": str(SHARED_DATA / "titanic.csv"), "target_column": "survived", "positive_class": "yes"},
    "creditcard": {"data_path": str(SHARED_DATA / "creditcard.csv"), "target_column": "card", "positive_class": "no"},
}


@pytest.mark.parametrize("data_set", DATA_SETS)
def test_schemathesis_finds_no_failure(bake, data_set, tmp_path):
    if DATA_SETS[data_set] and not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA}")
    project = bake(project_name=f"api {data_set}", **DATA_SETS[data_set])
    with running_service(project.path, project.env) as url:
        command = [str(SCHEMATHESIS), "run", f"{url}/docs.json", "--checks", "all", "--max-examples", "50",
                   "--seed", "1", "--no-color"]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)  # its cache there
    print(result.stdout[-2000:])
    assert result.returncode == 0, result.stdout[-5000:]
    assert "Tested: 6" in result.stdout and "No issues found" in result.stdout
