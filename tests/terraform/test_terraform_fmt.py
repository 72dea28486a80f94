"""`terraform fmt` style, checked without the binary.

The rules are those of hclwrite's formatter (what `terraform fmt` runs):

- indentation: a line that opens more brackets than it closes indents the following lines by two
  spaces (once, however many it opens); the line that closes them returns to the opening line's
  indent;
- alignment: in a run of consecutive lines that are single-line attribute assignments (no blank,
  comment, block or multi-line value in between), the `=` signs line up one column after the
  longest name; a line whose value opens a multi-line expression is not part of a run;
- spacing: no tabs, no trailing whitespace, a single newline at the end, and no double spaces
  between tokens except the alignment padding before `=`.

Heredocs are not supported by this check (the module uses none).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

MODULE = Path(__file__).resolve().parents[2] / "terraform"
TF_FILES = sorted(MODULE.rglob("*.tf"))

_OPENERS = "([{"
_CLOSERS = ")]}"


@dataclass(frozen=True)
class _Line:
    """What the checks need to know about one line, from a scan outside strings and comments."""

    text: str
    net_brackets: int
    equals: int | None  # column of the first lone '=' outside strings and comments
    net_after_equals: int
    has_code: bool
    double_space_outside_strings: list[int]


def _scan(text: str) -> _Line:
    net = 0
    net_after = 0
    equals: int | None = None
    doubles: list[int] = []
    depth: list[str] = []  # 's' = inside a quoted string, 'i' = inside ${...} of a string
    interp_braces: list[int] = []
    i = 0
    code = False
    while i < len(text):
        char = text[i]
        in_string = bool(depth) and depth[-1] == "s"
        if in_string:
            if char == "\\":
                i += 2
                continue
            if text.startswith("${", i) or text.startswith("%{", i):
                depth.append("i")
                interp_braces.append(0)
                i += 2
                continue
            if char == '"':
                depth.pop()
            i += 1
            continue
        # Outside strings (top level or inside an interpolation).
        if char == "#" or text.startswith("//", i):
            break
        if text.startswith("/*", i) or text.startswith("<<", i):
            raise AssertionError(f"block comments and heredocs are not supported: {text!r}")
        if char != " ":
            code = True
        if char == '"':
            depth.append("s")
        elif depth and depth[-1] == "i" and char == "{":
            interp_braces[-1] += 1
        elif depth and depth[-1] == "i" and char == "}":
            if interp_braces[-1] == 0:
                depth.pop()
                interp_braces.pop()
            else:
                interp_braces[-1] -= 1
        elif not depth and char in _OPENERS:
            net += 1
            if equals is not None:
                net_after += 1
        elif not depth and char in _CLOSERS:
            net -= 1
            if equals is not None:
                net_after -= 1
        elif not depth and char == "=" and equals is None:
            before = text[i - 1] if i else ""
            after = text[i + 1] if i + 1 < len(text) else ""
            if before not in "=!<>" and after not in "=>":
                equals = i
        elif not depth and char == " " and text.startswith("  ", i) and text[:i].strip():
            doubles.append(i)
        i += 1
    return _Line(text, net, equals, net_after, code, doubles)


def _problems(path: Path) -> list[str]:
    raw = path.read_text(encoding="utf-8")
    problems: list[str] = []
    if "\t" in raw:
        problems.append("tab character")
    if "\r" in raw:
        problems.append("carriage return")
    if not raw.endswith("\n") or raw.endswith("\n\n"):
        problems.append("must end with exactly one newline")
    lines = [_scan(text) for text in raw.split("\n")[:-1]]

    indents: list[int] = []
    for number, line in enumerate(lines, 1):
        if line.text != line.text.rstrip():
            problems.append(f"{number}: trailing whitespace")
        if not line.text.strip():
            continue
        net = line.net_brackets
        if net < 0:
            closed = -net
            while closed > 0 and indents:
                if closed >= indents[-1]:
                    closed -= indents.pop()
                else:
                    indents[-1] -= closed
                    closed = 0
        expected = 2 * len(indents)
        if net > 0:
            indents.append(net)
        actual = len(line.text) - len(line.text.lstrip(" "))
        if actual != expected:
            problems.append(f"{number}: indent {actual}, terraform fmt gives {expected}")

    # Alignment runs: consecutive lines with a single-line assignment.
    run: list[tuple[int, _Line]] = []

    def close_run() -> None:
        if run:
            column = max(len(line.text[: line.equals].rstrip()) for _, line in run) + 1
            for number, line in run:
                if line.equals != column:
                    problems.append(
                        f"{number}: '=' at column {line.equals}, fmt aligns to {column}"
                    )
        run.clear()

    for number, line in enumerate(lines, 1):
        single_line_assignment = (
            line.has_code
            and line.equals is not None
            and line.equals > 0
            and line.text[: line.equals].strip() != ""
            and line.net_after_equals == 0
        )
        if single_line_assignment:
            run.append((number, line))
        else:
            close_run()
        allowed = set()
        if single_line_assignment and line.equals is not None:
            allowed = set(range(len(line.text[: line.equals].rstrip()), line.equals))
        for column in line.double_space_outside_strings:
            if column not in allowed:
                problems.append(f"{number}: double space at column {column}")
                break
        if line.equals is not None:
            after = line.text[line.equals + 1 : line.equals + 3]
            if not single_line_assignment and line.text[line.equals - 1 : line.equals] != " ":
                problems.append(f"{number}: one space before '='")
            if after[:1] != " " or after[1:2] == " ":
                problems.append(f"{number}: one space after '='")
    close_run()
    return problems


@pytest.mark.parametrize("path", TF_FILES, ids=lambda p: str(p.relative_to(MODULE)))
def test_tf_file_is_formatted_like_terraform_fmt(path: Path) -> None:
    assert _problems(path) == []


def test_checker_catches_misalignment_and_bad_indent(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tf"
    bad.write_text(
        'resource "a" "b" {\n'
        '  name = "x"\n'
        '  description = "y"\n'
        "   tags = {}\n"
        "  block {\n"
        "  inner = 1\n"
        "  }\n"
        "}  \n",
        encoding="utf-8",
    )
    problems = _problems(bad)
    assert any("aligns to" in problem for problem in problems)
    assert any(problem.startswith("4: indent") for problem in problems)
    assert any(problem.startswith("6: indent") for problem in problems)
    assert any("trailing whitespace" in problem for problem in problems)


def test_checker_accepts_fmt_output(tmp_path: Path) -> None:
    good = tmp_path / "good.tf"
    good.write_text(
        'resource "a" "b" {\n'
        "  count = var.on ? 1 : 0\n"
        "\n"
        '  name        = "x"\n'
        '  description = "${var.a} = ${join(",", [for k, v in var.m : "${k}=${v}"])}"\n'
        "  tags = merge(var.tags, {\n"
        '    Name = "x" # a = b\n'
        "  })\n"
        "  values = [\n"
        '    "a",\n'
        "  ]\n"
        "  ok = var.a == 1 && var.b >= 2\n"
        "}\n",
        encoding="utf-8",
    )
    assert _problems(good) == []
