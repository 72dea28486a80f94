"""The Lambda zip: what Terraform uploads must import on arm64 python3.13 and hash the same twice.

The checks read the zip itself rather than trusting the build script's own bookkeeping, because
the zip is the artifact AWS sees. One build per session is shared; a second one (in another
directory) proves the bytes do not depend on where or when the build ran. Both build from one
snapshot of the project, so someone saving a file mid-run cannot make them differ.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from signin_monitor.event_patterns import PATTERN_NAMES

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "build_lambda.py"
EM_AARCH64 = 0xB7


def _load_script() -> ModuleType:
    # Registered in sys.modules before exec: dataclasses resolve annotations through it.
    spec = importlib.util.spec_from_file_location("build_lambda", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Built:
    path: Path
    sha256: str
    infos: list[zipfile.ZipInfo]

    @property
    def names(self) -> list[str]:
        return [info.filename for info in self.infos]


def _build(script: ModuleType, project: Path, workdir: Path) -> Built:
    try:
        result = script.build(
            project_root=project, output=workdir / "lambda.zip", build_dir=workdir / "build"
        )
    except script.IndexUnreachableError as exc:
        last = str(exc).strip().splitlines()[-1]
        pytest.skip(f"cannot build the Lambda zip: no package index reachable ({last})")
    path: Path = result.path
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    return Built(path, hashlib.sha256(path.read_bytes()).hexdigest(), infos)


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return _load_script()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    snapshot = tmp_path_factory.mktemp("project")
    for name in ("pyproject.toml", "handler.py"):
        shutil.copy2(ROOT / name, snapshot / name)
    shutil.copytree(
        ROOT / "signin_monitor",
        snapshot / "signin_monitor",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return snapshot


@pytest.fixture(scope="module")
def built(script: ModuleType, project: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _build(script, project, tmp_path_factory.mktemp("lambda-a"))


def test_entry_point_and_own_package_at_root(built: Built) -> None:
    names = set(built.names)
    assert "handler.py" in names
    assert "signin_monitor/__init__.py" in names
    assert "signin_monitor/py.typed" in names
    ours = [n for n in names if n.startswith("signin_monitor/")]
    assert all(
        n.endswith((".py", "py.typed", ".cpython-313.pyc"))
        or n.startswith("signin_monitor/patterns/")
        for n in ours
    ), ours
    # the EventBridge patterns, which the code loads as package data (design §3.1)
    assert {n for n in ours if n.startswith("signin_monitor/patterns/")} == {
        f"signin_monitor/patterns/{name}.json" for name in PATTERN_NAMES
    }
    assert not [n for n in ours if "/tests/" in n]


def test_staging_the_real_tree_follows_the_patterns_link(
    script: ModuleType, tmp_path: Path
) -> None:
    # GIVEN the repository itself, where signin_monitor/patterns is a link to terraform/patterns
    assert (ROOT / "signin_monitor" / "patterns").is_symlink()
    # WHEN our code is staged for the zip THEN the pattern files are copied, as files
    script.stage_project(tmp_path, ROOT)
    staged = tmp_path / "signin_monitor" / "patterns"
    assert sorted(p.name for p in staged.iterdir()) == sorted(f"{n}.json" for n in PATTERN_NAMES)
    assert not staged.is_symlink()


def test_dependencies_bundled_for_arm64(built: Built) -> None:
    names = set(built.names)
    assert "httpx/__init__.py" in names
    assert "pydantic/__init__.py" in names
    natives = [
        n for n in names if n.startswith("pydantic_core/_pydantic_core") and n.endswith(".so")
    ]
    assert len(natives) == 1, natives
    assert "aarch64" in natives[0]
    assert "cpython-313" in natives[0]
    with zipfile.ZipFile(built.path) as zf:
        header = zf.read(natives[0])[:20]
    assert header[:4] == b"\x7fELF"
    assert int.from_bytes(header[18:20], "little") == EM_AARCH64


def test_runtime_provided_and_install_byproducts_left_out(built: Built) -> None:
    tops = {n.split("/", 1)[0] for n in built.names}
    for provided in ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil"):
        assert provided not in tops
        assert not [t for t in tops if t.lower().startswith(f"{provided}-")], provided
    assert "bin" not in tops
    for name in built.names:
        parts = name.split("/")
        if "__pycache__" in parts or name.endswith((".pyc", ".pyo")):
            assert parts[-2] == "__pycache__", name
            assert name.endswith(".cpython-313.pyc"), name  # only the runtime's bytecode
        assert parts[-1] not in {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}, name
        assert not name.endswith("/"), name  # no directory entries
        assert not parts[-1].startswith(".signin-monitor"), name  # the build-dir marker


def test_bytecode_is_compiled_for_313_without_timestamps(script: ModuleType, built: Built) -> None:
    python = script.find_bytecode_python()
    if python is None:
        pytest.skip("no CPython 3.13 on this machine: the zip ships sources only")
    magic = subprocess.run(
        [
            python,
            "-c",
            "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = set(built.names)
    sources = [n for n in names if n.endswith(".py")]
    with zipfile.ZipFile(built.path) as zf:
        for source in sources:
            folder, _, stem = source.rpartition("/")
            pyc = f"{folder}/__pycache__/{stem[:-3]}.cpython-313.pyc".lstrip("/")
            assert pyc in names, source
        header = zf.read("__pycache__/handler.cpython-313.pyc")
    assert header[:4].hex() == magic
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, unchecked: no mtime
    assert b"/var/task/handler.py" in header


def test_entries_are_normalized(built: Built) -> None:
    assert built.names == sorted(built.names)
    assert len(built.names) == len(set(built.names))
    for info in built.infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
        assert info.external_attr >> 16 == 0o100644, info.filename
        assert info.compress_type == zipfile.ZIP_DEFLATED, info.filename


def test_within_lambda_size_limits(built: Built) -> None:
    zipped = built.path.stat().st_size
    unzipped = sum(info.file_size for info in built.infos)
    assert zipped < 50 * 1024 * 1024
    assert unzipped < 250 * 1024 * 1024


def test_second_build_is_byte_identical(
    script: ModuleType, project: Path, built: Built, tmp_path_factory: pytest.TempPathFactory
) -> None:
    again = _build(script, project, tmp_path_factory.mktemp("lambda-b"))
    assert again.sha256 == built.sha256


def test_runtime_provided_package_in_build_fails_loudly(script: ModuleType, tmp_path: Path) -> None:
    # A bundled urllib3 would shadow the copy under the runtime's botocore: never silently.
    for dist in ("httpx-0.28.1", "urllib3-2.2.3"):
        (tmp_path / f"{dist}.dist-info").mkdir()
    with pytest.raises(script.BuildError, match="urllib3"):
        script.check_installed(tmp_path, {"httpx": "0.28.1"})


def test_missing_entry_point_fails_before_pip(script: ModuleType, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "signin_monitor").mkdir(parents=True)
    (root / "signin_monitor" / "__init__.py").touch()
    (root / "pyproject.toml").write_bytes((ROOT / "pyproject.toml").read_bytes())
    with pytest.raises(script.BuildError, match=r"handler\.py not found"):
        script.build(project_root=root, output=tmp_path / "l.zip", build_dir=tmp_path / "b")
    assert not (tmp_path / "b").exists()
