"""The manual: every `doctor-migration ...` command in README.md and the guides of docs/ is one
the tool has (its subcommand and every --option, as `doctor-migration <sub> --help` lists them),
and every relative link points at a file that exists, and at one of its headings for a #anchor."""

from __future__ import annotations

import contextlib
import functools
import io
import re
from pathlib import Path

import pytest

from doctor_migration import cli

ROOT = Path(__file__).resolve().parents[1]
MANUAL = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "CONTRIBUTING.md",
          ROOT / "benchmarks" / "README.md"]

FENCED = re.compile(r"^```(\w*)\n(.*?)^```[^\n]*$", re.M | re.S)
SHELL = {"", "sh", "bash", "console", "shell"}  # not ```sql, whose comments name the tool
INDENTED = re.compile(r"^ {4}.*$", re.M)
SPAN = re.compile(r"`([^`]+)`")
# The tool's name, then its arguments up to the end of the command (a comment, `&&`, ...).
COMMAND = re.compile(r"(?:^|[\s/])doctor-migration[ \t]+([^#&;|`\n]+)")
# The short form in prose: `run --create-indexes`, `explain --show-pii` (a subcommand, options).
SHORT = re.compile(r"^([a-z]+[ \t]+--[^#&;|`\n]*)")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def code(markdown: str) -> list[str]:
    """Every line of the shell code blocks and every inline code span of a Markdown text."""
    blocks = [line for language, block in FENCED.findall(markdown) if language in SHELL
              for line in block.splitlines()]
    prose = FENCED.sub("", markdown)
    blocks += INDENTED.findall(prose)
    spans = SPAN.findall(INDENTED.sub("", prose))
    return blocks + [span.replace("\n", " ") for span in spans if "\n\n" not in span]


def prose(markdown: str) -> str:
    """The text of a Markdown file without its code, where links and headings are."""
    return SPAN.sub("", INDENTED.sub("", FENCED.sub("", markdown)))


def commands(path: Path) -> list[str]:
    """The arguments of every `doctor-migration ...` command line in a file, as written, and of
    every command in the short form."""
    found = []
    for text in code(path.read_text()):
        found += [arguments.strip() for arguments in COMMAND.findall(text) if arguments.strip()]
        short = SHORT.match(text)
        if short and short.group(1).split()[0] in subcommands():
            found.append(short.group(1).strip())
    return found


def help_text(*args: str) -> str:
    """What `doctor-migration [ARGS] --help` prints, from the parser itself."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as ended:
        cli.build_parser().parse_args([*args, "--help"])
    assert ended.value.code == 0, args
    return out.getvalue()


@functools.cache
def subcommands() -> frozenset[str]:
    return frozenset(re.search(r"\{([a-z,]+)\}", help_text()).group(1).split(","))


@functools.cache
def options(*sub: str) -> frozenset[str]:
    return frozenset(re.findall(r"(?<![\w-])--[a-z][a-z-]*", help_text(*sub)))


def problems(arguments: str) -> list[str]:
    """What in one command's arguments `--help` does not know (empty when it is all there)."""
    words = [word.strip("[]()") for word in arguments.split()]
    sub = () if words[0].startswith("-") else (words.pop(0),)
    if sub and sub[0] not in subcommands():
        return [f"no subcommand {sub[0]!r}"]
    used = []
    for word in words:
        if word == "--":  # the end of the options: `explain -- -5`
            break
        if re.match(r"--[a-z]", word):
            used.append(word.split("=")[0])
    return [f"no option {option} in `doctor-migration {' '.join(sub)} --help`"
            for option in used if option not in options(*sub)]


def slugs(markdown: str) -> set[str]:
    """The anchors of a Markdown file's headings, as GitHub makes them."""
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", FENCED.sub("", markdown), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        seen[slug] = seen.get(slug, -1) + 1
        if seen[slug]:
            seen[f"{slug}-{seen[slug]}"] = 0
    return set(seen)


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in LINK.findall(prose(path.read_text())):
        if SCHEME.match(target):
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            broken.append(f"{target}: no file {linked.relative_to(ROOT)}")
        elif anchor and anchor not in slugs(linked.read_text()):
            broken.append(f"{target}: no heading #{anchor} in {linked.relative_to(ROOT)}")
    return broken


def test_the_extraction_sees_commands_options_links_and_anchors(tmp_path):
    text = """# A guide

## Run it, then look

    .venv/bin/doctor-migration run --expected-count 5 --no-such   # a comment --nor-this
    cp dagster.yaml /srv/doctor-migration/home && doctor-migration history

```sql
-- A login for doctor-migration on Supabase
```

Undo with `doctor-migration rollback
--last`, or `doctor-migration explain -- -5`; the tool is `doctor-migration`; `run
--create-indexes` (not `dagster dev -w workspace.yaml`) creates the index.
[there](../README.md#exit-codes), [here](#run-it-then-look), [web](https://example.com/x).
"""
    guide = tmp_path / "guide.md"
    guide.write_text(text)
    assert commands(guide) == ["run --expected-count 5 --no-such", "history", "rollback --last",
                               "explain -- -5", "run --create-indexes"]
    assert problems("run --expected-count 5 --no-such") == [
        "no option --no-such in `doctor-migration run --help`"]
    assert problems("migrate --expected-count 5") == ["no subcommand 'migrate'"]
    assert problems("explain -- -5") == problems("--help") == []
    assert LINK.findall(prose(text)) == [
        "../README.md#exit-codes", "#run-it-then-look", "https://example.com/x"]
    assert {"a-guide", "run-it-then-look"} <= slugs(text)


def test_every_subcommand_is_in_the_manual():
    documented = {found.split()[0] for path in MANUAL for found in commands(path)}
    assert subcommands() <= documented


@pytest.mark.parametrize("path", MANUAL, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_command_is_one_the_tool_has(path):
    assert {found: problems(found) for found in commands(path) if problems(found)} == {}


@pytest.mark.parametrize("path", MANUAL, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_resolves(path):
    assert broken_links(path) == []
