"""CI as users run it: `.ci/run` checks the suite on the Lambda's CPython 3.13 and the Terraform.

Static reads of `.ci/run` and the Makefile, plus `.ci/python313` (the interpreter lookup) run
against fake interpreters in a temporary directory: fast, and no real 3.13 needed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CI_RUN = REPO / ".ci" / "run"
FINDER = REPO / ".ci" / "python313"
MAKEFILE = REPO / "Makefile"

BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(BASH is None, reason="needs bash")


def _lines() -> list[str]:
    return [line.strip() for line in CI_RUN.read_text(encoding="utf-8").splitlines()]


def _steps() -> list[str]:
    """The commands of .ci/run, comments and echo lines left out."""
    return [line for line in _lines() if line and not line.startswith(("#", "echo"))]


def _recipe(target: str) -> list[str]:
    text = MAKEFILE.read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", text, re.M)
    assert match is not None, f"Makefile has no {target} target"
    return [line.strip() for line in match.group(1).splitlines()]


def test_ci_run_is_valid_bash() -> None:
    assert BASH is not None
    subprocess.run([BASH, "-n", str(CI_RUN)], check=True)
    subprocess.run([BASH, "-n", str(FINDER)], check=True)
    assert os.access(CI_RUN, os.X_OK)
    assert os.access(FINDER, os.X_OK)


def test_ci_run_runs_the_suite_on_3_11_and_3_13_and_checks_the_terraform() -> None:
    steps = _steps()
    assert steps[:2] == ["set -euo pipefail", 'cd "$(dirname "${BASH_SOURCE[0]}")/.."']
    for command in (
        "make test",
        # beside the 3.11 run; its status is waited for and fails the run
        "make test313 >build/ci-test313.log 2>&1 &",
        'if wait "$test313_pid"; then test313_status=0; else test313_status=$?; fi',
        'exit "$test313_status"',
        '"$shared/tools/tf-schema-check" --schema .ci/tf-aws-schema.json terraform',
        ".venv/bin/cfn-lint cloudformation/member-forwarding.yaml",
        "bash .ci/chromium",
        "terraform fmt -check -recursive terraform",
        # beside the suites too; its status is waited for and fails the run
        "bash .ci/terraform-checks >build/ci-checkov.log 2>&1 &",
        'if wait "$checkov_pid"; then checkov_status=0; else checkov_status=$?; fi',
        'exit "$checkov_status"',
    ):
        assert command in steps, f".ci/run does not run {command!r}"
    # Skipped only where the tool is absent, and then with a message.
    assert 'shared="${SHARED_DIR:-../shared}"' in steps
    assert 'if [[ -x "$shared/tools/tf-schema-check" ]]; then' in steps
    assert "if command -v terraform >/dev/null 2>&1; then" in steps
    assert sum(line.startswith('echo "SKIPPED:') for line in _lines()) == 2


def test_make_test313_runs_everything_but_the_packaging_tests_on_its_own_venv() -> None:
    recipe = _recipe("test313")
    assert any("sys.version_info[:2] == (3, 13)" in line for line in recipe)
    (pytest_line,) = [line for line in recipe if "-m pytest" in line]
    assert pytest_line.startswith("$(VENV313)/bin/python -m pytest --ignore=tests/test_package.py ")
    assert pytest_line.count("--ignore") == 1
    assert "--deselect" not in pytest_line
    assert " -k " not in pytest_line
    assert "$(PYTEST_NO_TESTS)" in pytest_line
    assert re.search(r"^VENV313\s*:= \.venv313$", MAKEFILE.read_text(encoding="utf-8"), re.M)
    assert ".venv313/" in (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
    # The venv is made by the interpreter the finder returns (which fails when there is none).
    assert any("bash .ci/python313" in line for line in _recipe("$(STAMP313)"))


def test_make_test_stays_the_readmes_command_and_fails_when_nothing_ran() -> None:
    (pytest_line,) = [line for line in _recipe("test") if "-m pytest" in line]
    assert pytest_line == "$(BIN)/python -m pytest $(PYTEST_ARGS); $(PYTEST_NO_TESTS)"
    assert "make test" in (REPO / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("exit_code", [0, 1, 5])
def test_no_tests_collected_fails_loudly(exit_code: int) -> None:
    match = re.search(r"^PYTEST_NO_TESTS := (.*)$", MAKEFILE.read_text(encoding="utf-8"), re.M)
    assert match is not None
    guard = match.group(1).replace("$$", "$")
    result = subprocess.run(
        ["/bin/sh", "-c", f"(exit {exit_code}); {guard}"], capture_output=True, text=True
    )
    assert result.returncode == exit_code, "the guard must pass pytest's exit code on"
    assert ("no tests" in result.stderr) is (exit_code == 5)


# --- .ci/python313 ------------------------------------------------------------------------------


def _fake_python(path: Path, *, is_313: bool) -> Path:
    """A stand-in interpreter: answers the finder's version probe with yes or no."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\nexit {0 if is_313 else 1}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def _find(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    assert BASH is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("ls", "sort"):  # what the finder needs besides bash builtins
        found = shutil.which(tool)
        if found and not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(found)
    base = {"PATH": str(bin_dir), "HOME": str(tmp_path / "home"), "PYENV_ROOT": str(tmp_path)}
    return subprocess.run(
        [BASH, str(FINDER)], env={**base, **env}, capture_output=True, text=True, check=False
    )


def test_finder_takes_the_newest_pyenv_313_when_python3_13_on_path_does_not_run(
    tmp_path: Path,
) -> None:
    _fake_python(tmp_path / "bin" / "python3.13", is_313=False)  # a pyenv shim that refuses
    _fake_python(tmp_path / "versions" / "3.13.0" / "bin" / "python3.13", is_313=True)
    newest = _fake_python(tmp_path / "versions" / "3.13.2" / "bin" / "python3.13", is_313=True)
    _fake_python(tmp_path / "versions" / "3.12.1" / "bin" / "python3.12", is_313=False)
    result = _find(tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, str(newest))


def test_finder_prefers_python3_13_on_path(tmp_path: Path) -> None:
    on_path = _fake_python(tmp_path / "bin" / "python3.13", is_313=True)
    _fake_python(tmp_path / "versions" / "3.13.2" / "bin" / "python3.13", is_313=True)
    result = _find(tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, str(on_path))


def test_finder_fails_loudly_without_a_3_13(tmp_path: Path) -> None:
    result = _find(tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "ERROR: no CPython 3.13 found" in result.stderr


def test_finder_refuses_a_python313_override_that_is_not_3_13(tmp_path: Path) -> None:
    _fake_python(tmp_path / "versions" / "3.13.2" / "bin" / "python3.13", is_313=True)
    result = _find(tmp_path, PYTHON313=sys.executable if sys.version_info[:2] != (3, 13) else "/")
    assert result.returncode == 1
    assert "is not a working CPython 3.13" in result.stderr


def test_finder_probe_tells_3_13_from_other_pythons(tmp_path: Path) -> None:
    """The real probe, on this interpreter: it must say yes only on CPython 3.13."""
    result = _find(tmp_path, PYTHON313=sys.executable)
    expected = sys.implementation.name == "cpython" and sys.version_info[:2] == (3, 13)
    assert (result.returncode == 0) is expected
