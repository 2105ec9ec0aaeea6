"""Every code block of README.md, run or checked against a real `concur-scim serve`.

A block is one of the kinds below, and each kind has its test; a block of no known kind fails
`test_every_block_is_run_or_checked`, so a new example cannot go untested:

* the quick start's `make` lines: the Makefile has those targets (CI runs `make test`);
* the banner `make run` prints: matched line by line against a real `serve --port 0`;
* `sh` and `console` blocks with `curl`: run by bash against that server, `$TOKEN` its
  bearer token, `127.0.0.1:8000`/`localhost:8000` its address; what the README shows of the
  answer must be in the real answer (`…` stands for what is elided);
* the fault rules (`json`, one rule per line): each posted to `/_admin/faults`;
* command synopses: every `concur-scim` line names a real command, only options that command
  has, choices it accepts and as many positional arguments as it takes;
* the `python` example of "Contract tests in your CI": `tests/conformance/test_pytest_plugin.py`
  runs it (here it is only recognised).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.banner import Banner, serving

from concur_scim import cli

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
README_ORIGINS = ("http://127.0.0.1:8000", "localhost:8000")
ELLIPSIS = "…"


@dataclass(frozen=True)
class Block:
    """One fenced code block: its info string, its text, and the line its fence opens on."""

    info: str
    text: str
    line: int

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def kind(self) -> str | None:
        """Which test covers the block (the module doc), or None."""
        first = self.lines[0] if self.lines else ""
        if self.info == "python" and "concur_scim.pytest_plugin" in self.text:
            return "plugin-example"
        if self.info == "sh" and first.startswith("make "):
            return "make"
        if self.info in ("sh", "console") and "curl " in self.text:
            return "curl"
        if self.info == "json" and all(line.startswith("{") for line in self.lines):
            return "fault-rules"
        if self.info == "" and first.startswith("concur-scim serving"):
            return "banner"
        if self.info == "" and any(line.startswith("concur-scim ") for line in self.lines):
            return "synopsis"
        return None


def _blocks() -> list[Block]:
    blocks: list[Block] = []
    opened: tuple[str, int, list[str]] | None = None
    for number, line in enumerate(README.read_text().splitlines(), start=1):
        if line.startswith("```"):
            if opened is None:
                opened = (line[3:].strip(), number, [])
            else:
                blocks.append(Block(opened[0], "\n".join(opened[2]), opened[1]))
                opened = None
        elif opened is not None:
            opened[2].append(line)
    assert opened is None, "README.md has an unclosed code block"
    return blocks


def _of_kind(kind: str) -> list[Block]:
    found = [block for block in _blocks() if block.kind() == kind]
    assert found, f"README.md has no {kind} block"
    return found


def test_every_block_is_run_or_checked() -> None:
    unknown = [
        f"line {block.line}: {block.info or 'plain'}" for block in _blocks() if not block.kind()
    ]
    assert not unknown, f"README code blocks no test covers: {unknown}"


def test_the_quick_start_make_targets_exist() -> None:
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    for block in _of_kind("make"):
        for line in block.lines:
            target = line.split("#", 1)[0].split()[1]
            assert target in targets, line


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Banner]:
    with serving(tmp_path_factory.mktemp("readme") / "readme.db") as banner:
        yield banner


def _pattern(shown: str) -> str:
    """A regex for a line as the README shows it: a word ending in `…` is any word (what
    precedes the `…` only illustrates), runs of spaces are any whitespace."""
    return r"\s+".join(
        r"\S+" if word.endswith(ELLIPSIS) else re.escape(word) for word in shown.split()
    )


def _with_origin(text: str, base: str) -> str:
    host = base.removeprefix("http://")
    return text.replace(README_ORIGINS[0], base).replace(README_ORIGINS[1], host)


def test_the_banner_is_what_serve_prints(server: Banner) -> None:
    """Line by line, in order; the README's `  …  (…)` line stands for the dialects it
    leaves out."""
    actual = list(server.lines)
    (block,) = _of_kind("banner")
    for shown in _with_origin(block.text, server.base).splitlines():
        if shown.strip().startswith(ELLIPSIS):  # elided lines: skip to the next shown one
            continue
        pattern = re.compile(_pattern(shown))
        while actual and not pattern.fullmatch(actual[0].strip()):
            assert actual[0].startswith("  "), f"{shown!r} not printed; got {actual[0]!r}"
            actual.pop(0)
        assert actual, f"{shown!r} is not printed: {server.lines}"
        actual.pop(0)
    assert not actual, f"printed but not in the README: {actual}"


def _admin(server: Banner) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.base}/_admin",
        headers={"Authorization": f"Bearer {server.value('admin token:')}"},
    )


def _bash(script: str, server: Banner) -> str:
    bash = shutil.which("bash")
    assert bash is not None, "bash is needed"
    assert shutil.which("curl") is not None, "curl is needed"
    result = subprocess.run(
        [bash, "-euo", "pipefail", "-c", _with_origin(script, server.base)],
        env={"PATH": "/usr/bin:/bin", "TOKEN": server.token},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _commands(block: Block) -> tuple[str, str]:
    """A console block's commands (the `$ ` lines and their continuations) and what it shows
    of their output."""
    if block.info == "sh":
        return block.text, ""
    commands: list[str] = []
    lines = block.lines
    while lines and lines[0].startswith("$ "):
        command = [lines.pop(0)[2:]]
        while lines and not _complete(command):
            command.append(lines.pop(0))
        commands.append("\n".join(command))
    return "\n".join(commands), "\n".join(lines)


def _complete(command: list[str]) -> bool:
    text = "\n".join(command)
    if text.endswith("\\"):
        return False
    check = subprocess.run(["bash", "-n", "-c", text], capture_output=True, check=False)
    return check.returncode == 0


def test_the_quick_start_curl_finds_the_user(server: Banner) -> None:
    """The quick start's lookup, run as printed, answers a ListResponse with the user."""
    with _admin(server) as admin:
        seeded = admin.post("/seed", json=[{"userName": "bjensen"}])
    assert seeded.json() == {"created": 1, "failed": []}
    (block,) = [block for block in _of_kind("curl") if block.info == "sh"]
    answer = json.loads(_bash(_commands(block)[0], server))
    assert answer["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert answer["totalResults"] == 1
    assert answer["Resources"][0]["userName"] == "bjensen"


def _shown_findings(shown: str) -> list[dict[str, str]]:
    """The findings the README shows: each `{"outcome": …}` with its string members."""
    chunks = shown.split('{"outcome"')[1:]
    member = re.compile(r'"(\w+)": "((?:[^"\\]|\\.)*)"')
    return [
        {key: json.loads(f'"{value}"') for key, value in member.findall('"outcome"' + chunk)}
        for chunk in chunks
    ]


def _matches(shown: str, actual: Any) -> bool:
    pattern = ".*?".join(re.escape(part) for part in shown.split(ELLIPSIS))
    return isinstance(actual, str) and re.fullmatch(pattern, actual, re.DOTALL) is not None


def test_the_lint_example_reports_what_it_shows(server: Banner) -> None:
    """ "Will real Concur accept my payload?": the curl, run as printed, answers the lint
    report the README shows, finding for finding and in that order (`…` elides)."""
    (block,) = [block for block in _of_kind("curl") if block.info == "console"]
    commands, shown = _commands(block)
    answer = json.loads(_bash(commands, server))
    expected = _shown_findings(shown)
    assert len(expected) == 3
    findings = answer["urn:concur-scim:api:messages:2.0:Lint"]["findings"]
    assert len(findings) == len(expected), findings
    for want, got in zip(expected, findings, strict=True):
        for key, value in want.items():
            assert _matches(value, got.get(key)), (key, value, got)
    assert len(answer["title"]) == 300  # stored: /scim/v2 reports it, Concur would refuse it


def test_the_fault_rules_are_accepted(server: Banner) -> None:
    """Each example rule is accepted as written (its company placeholder filled in), and the
    first one answers as the README says: 429 with `Retry-After`."""
    company = server.value("default company:")
    (block,) = _of_kind("fault-rules")
    with _admin(server) as admin:
        try:
            for line in block.lines:
                rule = json.loads(line)
                if str(rule.get("company", "")).endswith(ELLIPSIS):
                    rule["company"] = company
                created = admin.post("/faults", json=rule)
                assert created.status_code == 201, (line, created.text)
                assert {k: v for k, v in created.json().items() if k in rule} == rule
            first = json.loads(block.lines[0])
            answer = httpx.get(
                f"{server.base}{first['path']}",
                headers={"Authorization": f"Bearer {server.token}"},
                timeout=10,
            )
            assert answer.status_code == first["status"]
            assert answer.headers["Retry-After"] == str(first["retryAfter"])
        finally:
            assert admin.delete("/faults").status_code in (200, 204)


@dataclass(frozen=True)
class Synopsis:
    """One `concur-scim …` command line of a synopsis, with its continuation lines."""

    text: str

    def words(self) -> list[str]:
        line = self.text.split(" #", 1)[0].split(" > ", 1)[0]
        return [w.strip("[]()") for w in line.split()[1:] if w.strip("[]()") not in ("", "|")]


def _synopses() -> list[Synopsis]:
    found: list[Synopsis] = []
    for block in _of_kind("synopsis"):
        for line in block.lines:
            if line.startswith("concur-scim "):
                found.append(Synopsis(line))
            elif line.startswith(" ") and found and line.strip()[:1] in "[(":
                found[-1] = Synopsis(f"{found[-1].text} {line.strip()}")
    return found


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _check_synopsis(synopsis: Synopsis) -> None:
    words = synopsis.words()
    parsers = [cli._parser()]
    while words and not words[0].startswith("-") and _subcommands(parsers[0]):
        names = words.pop(0).split("|")
        choices = _subcommands(parsers[0])
        assert set(names) <= set(choices), f"{synopsis.text}: no command {names}"
        parsers = [choices[name] for name in names]
    if words and words[0] == ELLIPSIS:  # "see below": each named command exists
        return
    (parser,) = parsers
    options = parser._option_string_actions
    positionals = 0
    while words:
        word = words.pop(0)
        if word.startswith("--"):
            assert word in options, f"{synopsis.text}: {word} is not an option of it"
            action = options[word]
            if action.nargs != 0 and words:
                value = words.pop(0)
                if action.choices is not None and "|" in value:
                    assert set(value.split("|")) <= {str(c) for c in action.choices}, value
        else:
            positionals += 1
    takes = [a for a in parser._actions if not a.option_strings]
    required = [a for a in takes if a.nargs not in ("?", "*", argparse.PARSER)]
    takes = [a for a in takes if a.nargs != argparse.PARSER]
    assert len(required) <= positionals <= len(takes), (synopsis.text, positionals)


def test_every_synopsis_line_is_a_real_command() -> None:
    synopses = _synopses()
    assert len(synopses) >= 20
    for synopsis in synopses:
        _check_synopsis(synopsis)


def test_the_synopsis_check_catches_a_wrong_line() -> None:
    """The check is not vacuous: an unknown option, command or choice fails it."""
    for wrong in (
        "concur-scim provisions list [--colour red]",
        "concur-scim provision list",
        "concur-scim bulk submit FILE [--format json|yaml]",
        "concur-scim seed",
    ):
        with pytest.raises(AssertionError):
            _check_synopsis(Synopsis(wrong))
