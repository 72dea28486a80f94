#!/usr/bin/env python3
"""Build the deterministic Lambda zip (python3.13, arm64) that Terraform deploys.

Why the build looks like this:

* Terraform's ``source_code_hash`` compares bytes, so two builds of the same commit must give the
  same zip, on any day and any machine. Hence: dependency versions come from a hash-pinned lock
  (``scripts/lambda-requirements.txt``), never from a fresh resolve; entries are sorted, dated
  1980-01-01, mode 0644, deflated at a fixed level; pip's byproducts that carry paths or install
  times (``RECORD``, ``INSTALLER``, ``REQUESTED``, ``direct_url.json``, ``bin/``) are left out.
  The one thing outside our control is zlib itself: a different zlib build (zlib-ng, say) may
  deflate differently, so compare hashes between builds made with the same Python.
* Bytecode is shipped, compiled by a CPython 3.13 found on the build machine (``python3.13`` on
  PATH, pyenv's 3.13, or ``LAMBDA_BYTECODE_PYTHON``) as ``unchecked-hash`` .pyc files whose
  paths say ``/var/task``: no timestamps, so the bytes repeat, and ``/var/task`` is read-only, so
  without them every cold start compiles ~270 modules again (measured: ``import handler`` 2.7x
  slower). Without a 3.13 the zip is built without bytecode and the summary says so.
* The Lambda runs on arm64 while developers and CI run x86_64, so pip is told the target platform
  and may only take wheels (``--only-binary=:all:``): a source build here would compile for the
  wrong machine. Every shared object is then checked to be an aarch64 ELF as a last guard.
* boto3/botocore are NOT bundled. The python3.13 Lambda runtime ships boto3; the calls we make
  (DynamoDB items/queries, SSM GetParameter) are long-stable APIs that the runtime's copy has had
  for years; bundling adds ~17 MB unzipped and the extra unzip/import cost lands on every cold
  start.
  The boto3 pin in pyproject.toml is therefore for development and tests, not for deployment.
* For the same reason nothing from boto3's own tree (botocore, s3transfer, jmespath, urllib3,
  python-dateutil) may be bundled: ``/var/task`` precedes the runtime's paths on ``sys.path``, so a
  bundled urllib3, say, would silently shadow the copy the runtime's botocore was tested with. If a
  dependency ever pulls one of them in, locking fails loudly and a human decides.

``--update-lock`` re-resolves pyproject's runtime dependencies for the Lambda's platform (pip's
``--dry-run --report``), rewrites the lock, then builds. The lock records the requirements it was
made from, so a build refuses to run once pyproject.toml has moved on without it.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SCRIPT_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = SCRIPT_DIR.parent
DEFAULT_LOCK = SCRIPT_DIR / "lambda-requirements.txt"
DEFAULT_OUTPUT = Path("dist") / "lambda.zip"
DEFAULT_BUILD_DIR = Path("build") / "lambda"
WHEELHOUSE = Path("build") / "wheels"

PACKAGE = "signin_monitor"
HANDLER_MODULE = "handler.py"

# What pip is told the Lambda is: `python3.13` runtime on `arm64` (Amazon Linux 2023, glibc 2.34).
TARGET_ARGS: tuple[str, ...] = (
    "--platform",
    "manylinux2014_aarch64",
    "--only-binary=:all:",
    "--implementation",
    "cp",
    "--python-version",
    "3.13",
)
# Extension modules compiled for another interpreter or machine would import-fail only in AWS.
EXPECTED_SO_TAG = "cpython-313-aarch64-linux-gnu"
EM_AARCH64 = 0xB7

# Provided by the Lambda runtime; bundling any of them would shadow the runtime's copy.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil"}
)
# Runtime dependencies of the command line only: the Lambda never imports them (replay's fast
# reader, signin_monitor/cloudtrail_files.py, uses msgspec), so they stay out of the zip.
CLI_ONLY = frozenset({"msgspec"})
# Install-time bookkeeping: paths, hashes and installer names that vary or mean nothing in a zip.
DROPPED_DIST_INFO_FILES = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o100644  # regular file, rw-r--r--: Lambda only needs to read (dlopen needs no x)
ZIP_LEVEL = 9

# Lambda's documented limits for a zip deployment (direct upload / unzipped).
MAX_ZIPPED = 50 * 1024 * 1024
MAX_UNZIPPED = 250 * 1024 * 1024

# Marker so that cleaning --build-dir can never wipe a directory we did not create.
BUILD_MARKER = ".signin-monitor-lambda-build"
BYTECODE_TAG = "cpython-313"
BYTECODE_PYTHON_ENV = "LAMBDA_BYTECODE_PYTHON"
RUNTIME_ROOT = "/var/task"  # where Lambda unpacks the zip: the paths tracebacks will show

# pip's wording when it could not reach an index (as opposed to reaching it and finding nothing).
_UNREACHABLE = re.compile(
    r"connection broken by|NewConnectionError|NameResolutionError|ConnectTimeoutError"
    r"|Failed to establish a new connection|Temporary failure in name resolution"
    r"|Network is unreachable|ProxyError|Could not fetch URL",
)
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_INPUTS_PREFIX = "# inputs: "


class BuildError(Exception):
    """A build that must not produce a zip; the message says what to fix."""


class IndexUnreachableError(BuildError):
    """pip could not reach a package index: an environment problem, not a packaging one.

    Kept distinct so tests can skip on a machine without network instead of failing.
    """


@dataclass(frozen=True)
class BuildResult:
    """What a caller (CLI summary, tests, Terraform review) needs to know about one zip."""

    path: Path
    zipped_size: int
    unzipped_size: int
    sha256: str
    entries: int
    bytecode: bool = False

    @property
    def sha256_base64(self) -> str:
        """Same value as Terraform's ``filebase64sha256``, to compare with a plan by eye."""
        return base64.b64encode(bytes.fromhex(self.sha256)).decode("ascii")

    def summary(self) -> str:
        return (
            f"lambda zip {_display(self.path)}: {self.entries} files, "
            f"zipped {_mb(self.zipped_size)}, unzipped {_mb(self.unzipped_size)}, "
            f"sha256 {self.sha256}, "
            + (
                "bytecode compiled for 3.13"
                if self.bytecode
                else "NO bytecode (no python3.13 found)"
            )
        )


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    sha256: str


def normalize(name: str) -> str:
    """PEP 503 names, so ``typing_extensions`` and ``typing-extensions`` compare equal."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB ({n} B)"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------------
# Dependencies and the lock
# ---------------------------------------------------------------------------------------------


def runtime_requirements(project_root: Path) -> list[str]:
    """pyproject's runtime dependencies minus what the Lambda runtime already provides and
    what only the command line imports."""
    pyproject = project_root / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BuildError(f"{pyproject} not found (is --project-root right?)") from exc
    deps: list[str] = list(data.get("project", {}).get("dependencies", []))
    kept: list[str] = []
    for dep in deps:
        match = _NAME.match(dep)
        if match is None:
            raise BuildError(f"cannot read the name of dependency {dep!r} in {pyproject}")
        if normalize(match.group(1)) not in RUNTIME_PROVIDED | CLI_ONLY:
            kept.append(dep.strip())
    return sorted(kept, key=str.lower)


def _pip(args: Sequence[str], *, what: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pip", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        output = (proc.stderr or proc.stdout).strip()
        tail = "\n".join(output.splitlines()[-15:])
        message = f"pip failed while {what} (exit {proc.returncode}):\n{tail}"
        if _UNREACHABLE.search(output):
            raise IndexUnreachableError(f"package index unreachable; {message}")
        raise BuildError(message)
    return proc


def resolve(requirements: Sequence[str]) -> list[Pin]:
    """Ask pip what it would install for the Lambda's platform, without installing anything."""
    with tempfile.TemporaryDirectory(prefix="lambda-lock-") as tmp:
        report_path = Path(tmp) / "report.json"
        _pip(
            [
                "install",
                "--dry-run",
                "--ignore-installed",  # the dev venv's copies must not satisfy the target
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
                "--report",
                str(report_path),
                *TARGET_ARGS,
                *requirements,
            ],
            what="resolving the Lambda dependencies",
        )
        report = json.loads(report_path.read_text(encoding="utf-8"))
    pins: list[Pin] = []
    for item in report["install"]:
        name = normalize(item["metadata"]["name"])
        hashes = item.get("download_info", {}).get("archive_info", {}).get("hashes", {})
        if "sha256" not in hashes:
            raise BuildError(f"pip's report gives no sha256 for {name}; cannot lock it")
        pins.append(Pin(name, item["metadata"]["version"], hashes["sha256"]))
    pulled = sorted(pin.name for pin in pins if pin.name in RUNTIME_PROVIDED)
    if pulled:
        raise BuildError(
            f"the Lambda dependencies pull in {', '.join(pulled)}, which the Lambda runtime "
            "provides; bundling would shadow the runtime's copy under boto3. Find which "
            "dependency needs it (pip install --dry-run --report) and decide deliberately."
        )
    return sorted(pins, key=lambda pin: pin.name)


def write_lock(lock_path: Path, requirements: Sequence[str], pins: Sequence[Pin]) -> None:
    lines = [
        "# Exact, hash-pinned dependencies bundled into the Lambda zip (python3.13, arm64).",
        "# Generated by scripts/build_lambda.py --update-lock; do not edit by hand.",
        "# boto3 and its tree are provided by the Lambda runtime and deliberately absent.",
        f"{_INPUTS_PREFIX}{'; '.join(requirements)}",
    ]
    for pin in pins:
        lines.append(f"{pin.name}=={pin.version} \\")
        lines.append(f"    --hash=sha256:{pin.sha256}")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock_path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_lock(lock_path: Path, requirements: Sequence[str]) -> dict[str, str]:
    """Pinned versions by name, refusing a lock made from other requirements than today's."""
    try:
        text = lock_path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise BuildError(f"{lock_path} not found; run with --update-lock to create it") from exc
    inputs = next((ln for ln in text.splitlines() if ln.startswith(_INPUTS_PREFIX)), None)
    expected = "; ".join(requirements)
    if inputs is None or inputs.removeprefix(_INPUTS_PREFIX) != expected:
        raise BuildError(
            f"{lock_path} was made for other requirements than pyproject.toml's "
            f"({expected}); run with --update-lock"
        )
    pins: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        if match:
            pins[normalize(match.group(1))] = match.group(2)
    if not pins:
        raise BuildError(f"{lock_path} pins nothing; run with --update-lock")
    return pins


def update_lock(project_root: Path, lock_path: Path = DEFAULT_LOCK) -> list[Pin]:
    requirements = runtime_requirements(project_root)
    pins = resolve(requirements)
    write_lock(lock_path, requirements, pins)
    return pins


# ---------------------------------------------------------------------------------------------
# Install, check, collect, zip
# ---------------------------------------------------------------------------------------------


def _fresh_dir(path: Path) -> None:
    if path.exists():
        if any(path.iterdir()) and not (path / BUILD_MARKER).exists():
            raise BuildError(
                f"{path} exists, is not empty and was not made by this script; refusing to wipe it"
            )
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / BUILD_MARKER).touch()


def install(build_dir: Path, lock_path: Path, project_root: Path) -> None:
    args = [
        "install",
        "--no-compile",  # bytecode would embed mtimes and differ per build
        "--no-deps",  # the lock is the complete set: nothing may be resolved afresh
        "--require-hashes",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        *TARGET_ARGS,
        "--target",
        str(build_dir),
        "-r",
        str(lock_path),
    ]
    wheelhouse = project_root / WHEELHOUSE
    if wheelhouse.is_dir():  # optional pre-downloaded wheels (e.g. for offline builds)
        args[1:1] = ["--find-links", str(wheelhouse)]
    _pip(args, what="installing the locked Lambda dependencies")


def _installed_dists(build_dir: Path) -> dict[str, str]:
    dists: dict[str, str] = {}
    for info in build_dir.glob("*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        dists[normalize(name)] = version
    return dists


def check_installed(build_dir: Path, pins: dict[str, str]) -> None:
    """What landed must be exactly the lock: anything else means pip did something unplanned."""
    dists = _installed_dists(build_dir)
    leaked = sorted(set(dists) & RUNTIME_PROVIDED)
    if leaked:
        raise BuildError(f"runtime-provided packages ended up in the build: {', '.join(leaked)}")
    if dists != pins:
        extra = sorted(f"{n}=={v}" for n, v in dists.items() if pins.get(n) != v)
        missing = sorted(f"{n}=={v}" for n, v in pins.items() if dists.get(n) != v)
        raise BuildError(
            f"installed set differs from the lock: unexpected {extra or 'none'}, "
            f"missing {missing or 'none'}"
        )
    for reserved in (HANDLER_MODULE, PACKAGE):
        if (build_dir / reserved).exists():
            raise BuildError(f"a dependency installs {reserved!r}, which would clash with ours")


def _elf_machine(path: Path) -> int | None:
    with path.open("rb") as fh:
        header = fh.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    return int.from_bytes(header[18:20], "little")


def check_native(files: dict[str, Path]) -> None:
    for arcname, path in files.items():
        if ".so" not in Path(arcname).suffixes:
            continue
        machine = _elf_machine(path)
        if machine != EM_AARCH64:
            raise BuildError(f"{arcname} is not an aarch64 ELF (e_machine={machine!r})")
        if ".cpython-" in arcname and EXPECTED_SO_TAG not in arcname:
            raise BuildError(f"{arcname} is built for another interpreter than {EXPECTED_SO_TAG}")


def _walk(root: Path) -> Iterator[Path]:
    # followlinks: signin_monitor/patterns links to terraform/patterns (one copy of the patterns).
    for dirpath, _dirnames, filenames in os.walk(root, followlinks=True):
        for filename in filenames:
            yield Path(dirpath) / filename


def _keep_built_file(rel: Path) -> bool:
    parts = rel.parts
    if parts[0] == "bin" or parts[0] == BUILD_MARKER:
        return False
    if "__pycache__" in parts or rel.suffix in {".pyc", ".pyo"}:
        # Only what compile_bytecode wrote for the runtime's interpreter.
        return parts[-2:-1] == ("__pycache__",) and rel.name.endswith(f".{BYTECODE_TAG}.pyc")
    return not (parts[0].endswith(".dist-info") and rel.name in DROPPED_DIST_INFO_FILES)


def _keep_project_file(rel: Path) -> bool:
    parts = rel.parts
    if "__pycache__" in parts or "tests" in parts or "test" in parts:
        return False
    if rel.parts[0] == "patterns":
        return rel.suffix == ".json"  # the EventBridge patterns replay and the Lambda select with
    return rel.suffix == ".py" or rel.name == "py.typed"


def check_project(project_root: Path) -> tuple[Path, Path]:
    """Fail before pip runs: a missing entry point should cost a second, not a download."""
    handler = project_root / HANDLER_MODULE
    package = project_root / PACKAGE
    if not handler.is_file():
        raise BuildError(f"{handler} not found: the Lambda entry point handler.handler needs it")
    if not (package / "__init__.py").is_file():
        raise BuildError(f"{package}/__init__.py not found: the {PACKAGE} package is incomplete")
    return handler, package


def stage_project(build_dir: Path, project_root: Path) -> None:
    """Copy our own code beside the dependencies, so one tree is compiled and zipped."""
    handler, package = check_project(project_root)
    shutil.copyfile(handler, build_dir / HANDLER_MODULE)
    for path in _walk(package):
        rel = path.relative_to(package)
        if _keep_project_file(rel):
            target = build_dir / PACKAGE / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def find_bytecode_python() -> str | None:
    """A CPython 3.13 interpreter to compile the Lambda's bytecode with, or None."""
    candidates = [os.environ.get(BYTECODE_PYTHON_ENV), shutil.which("python3.13")]
    candidates += sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"))
    probe = "import platform, sys; print(platform.python_implementation(), *sys.version_info[:2])"
    for candidate in candidates:
        if not candidate:
            continue
        try:
            run = subprocess.run(
                [candidate, "-c", probe], capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if run.returncode == 0 and run.stdout.split() == ["CPython", "3", "13"]:
            return candidate
    return None


def compile_bytecode(build_dir: Path, python: str) -> None:
    """Write ``unchecked-hash`` .pyc files (no mtimes: reproducible) with ``/var/task`` paths."""
    run = subprocess.run(
        [
            python,
            "-m",
            "compileall",
            "-q",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(build_dir),
            "-p",
            RUNTIME_ROOT,
            str(build_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    if run.returncode != 0:
        raise BuildError(f"compiling bytecode with {python} failed:\n{run.stdout}{run.stderr}")


def collect(build_dir: Path) -> dict[str, Path]:
    """Archive name -> file, for the staged tree (dependencies, our code, their bytecode)."""
    files: dict[str, Path] = {}
    for path in _walk(build_dir):
        rel = path.relative_to(build_dir)
        if _keep_built_file(rel):
            files[rel.as_posix()] = path
    for arcname, path in files.items():
        if path.is_symlink():
            raise BuildError(f"{arcname} is a symlink; the zip stores regular files only")
    return files


def write_zip(files: dict[str, Path], output: Path) -> BuildResult:
    output.parent.mkdir(parents=True, exist_ok=True)
    unzipped = 0
    fd, tmp_name = tempfile.mkstemp(prefix=".lambda-", suffix=".zip", dir=output.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as zf:
            for arcname in sorted(files):
                data = files[arcname].read_bytes()
                unzipped += len(data)
                info = zipfile.ZipInfo(arcname, date_time=ZIP_DATE)
                info.create_system = 3  # unix, so external_attr means a mode on every host
                info.external_attr = ZIP_FILE_MODE << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data, compresslevel=ZIP_LEVEL)
        tmp.chmod(0o644)  # mkstemp makes it 0600
        tmp.replace(output)  # never leave a half-written zip where Terraform looks
    finally:
        tmp.unlink(missing_ok=True)
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    return BuildResult(output, output.stat().st_size, unzipped, digest, len(files))


def build(
    *,
    project_root: Path = PROJECT_ROOT,
    output: Path | None = None,
    build_dir: Path | None = None,
    lock_path: Path = DEFAULT_LOCK,
    bytecode: bool = True,
) -> BuildResult:
    """Build the zip; raise BuildError (IndexUnreachableError when offline) instead of a bad zip.

    With ``bytecode`` and a CPython 3.13 on the machine, .pyc files are compiled and shipped.
    """
    project_root = project_root.resolve()
    output = output if output is not None else project_root / DEFAULT_OUTPUT
    build_dir = build_dir if build_dir is not None else project_root / DEFAULT_BUILD_DIR

    pins = read_lock(lock_path, runtime_requirements(project_root))
    check_project(project_root)
    _fresh_dir(build_dir)
    install(build_dir, lock_path, project_root)
    check_installed(build_dir, pins)
    stage_project(build_dir, project_root)
    python = find_bytecode_python() if bytecode else None
    if python is not None:
        compile_bytecode(build_dir, python)
    files = collect(build_dir)
    check_native(files)
    result = dataclasses.replace(write_zip(files, output), bytecode=python is not None)
    if result.zipped_size > MAX_ZIPPED or result.unzipped_size > MAX_UNZIPPED:
        raise BuildError(f"over Lambda's size limits (50 MB zipped, 250 MB unzipped): {result}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--project-root", type=Path, default=PROJECT_ROOT)
    parser.add_argument("--output", type=Path, help=f"default: <project-root>/{DEFAULT_OUTPUT}")
    parser.add_argument(
        "--build-dir", type=Path, help=f"default: <project-root>/{DEFAULT_BUILD_DIR}"
    )
    parser.add_argument("--lock", type=Path, default=DEFAULT_LOCK)
    parser.add_argument(
        "--no-bytecode", action="store_true", help="ship sources only (slower cold starts)"
    )
    parser.add_argument(
        "--update-lock",
        action="store_true",
        help="re-resolve pyproject's runtime dependencies, rewrite the lock, then build",
    )
    args = parser.parse_args(argv)
    try:
        if args.update_lock:
            pins = update_lock(args.project_root, args.lock)
            print(
                f"wrote {_display(args.lock)}: "
                + ", ".join(f"{p.name}=={p.version}" for p in pins),
                file=sys.stderr,
            )
        result = build(
            project_root=args.project_root,
            output=args.output,
            build_dir=args.build_dir,
            lock_path=args.lock,
            bytecode=not args.no_bytecode,
        )
    except BuildError as exc:
        print(f"build_lambda: error: {exc}", file=sys.stderr)
        return 1
    print(result.summary(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
