"""The README and docs/ say only what is true of the CLI and of the repository, so they cannot drift.

Every ``closeout ...`` command shown in a code span or a code block of README.md or docs/*.md names a command
of the CLI (a sub-command of a group too, hidden aliases included), and every option given to it is one of
its options. Every Markdown link to a local file points at a file in the repository, every link to a section
at a heading that exists, and the README's contents list every ``##`` and ``###`` heading in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from closeout.cli import app

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
CONTENTS = "Contents"
NOT_THE_REPOSITORY = {".git", ".venv", ".closeout"}
"""Folders inside the checkout that are not part of the repository: a link into one points at nothing on GitHub."""

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_COMMAND = re.compile(r"(?:^|(?<=[\s/(]))closeout[ \t]+")
_NAME = re.compile(r"^[a-z][a-z0-9_-]*(?:\|[a-z][a-z0-9_-]*)*$")
_OPTION = re.compile(r"^\[?(-{1,2}[A-Za-z][A-Za-z0-9-]*)")
_ENDS_A_COMMAND = {"#", "&", "&&", "||", ";", "|", "/", ")"}
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_TOC_ENTRY = re.compile(r"^(\s*)[-*] \[(.+)\]\(#([^)]+)\)\s*$")


@dataclass(frozen=True)
class Snippet:
    """One piece of code as the reader sees it: a line of a code block, or a code span."""

    file: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.text.strip()}"


@dataclass(frozen=True)
class Mention:
    """A command the docs show: its words (``cases``, ``correct``), its options, and where it was seen."""

    words: tuple[str, ...]
    options: tuple[str, ...]
    seen: Snippet


# reading Markdown

def split_code(text: str, file: str = "README.md") -> tuple[list[Snippet], str]:
    """The code of a Markdown text (each line of a fenced block, each inline code span) and the prose that is
    left, with code blanked out (line breaks kept, so line numbers still hold)."""
    snippets: list[Snippet] = []
    prose: list[str] = []
    fence = None
    for number, line in enumerate(text.split("\n"), start=1):
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)
            prose.append("")
        elif fence is not None:
            if opened and opened.group(1) == fence:
                fence = None
            else:
                snippets.append(Snippet(file, number, line))
            prose.append("")
        else:
            prose.append(line)
    rest = "\n".join(prose)

    def blank(found: re.Match[str]) -> str:
        line = rest.count("\n", 0, found.start()) + 1
        snippets.append(Snippet(file, line, re.sub(r"\s*\n\s*", " ", found.group(2))))
        return re.sub(r"[^\n]", " ", found.group(0))

    return snippets, _INLINE_CODE.sub(blank, rest)


def heading_texts(text: str) -> list[tuple[int, str]]:
    """``(level, text)`` of every heading outside code blocks, code spans and all."""
    found, fence = [], None
    for line in text.split("\n"):
        opened = _FENCE.match(line)
        if opened and (fence is None or opened.group(1) == fence):
            fence = None if fence else opened.group(1)
            continue
        if fence is None and (match := _HEADING.match(line)):
            found.append((len(match.group(1)), match.group(2)))
    return found


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading (github-slugger): the text of its links, lower case, punctuation
    (backticks and apostrophes too) dropped, each space a dash."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor of a Markdown text's headings, duplicates numbered as GitHub numbers them."""
    seen: dict[str, int] = {}
    result = set()
    for _, heading in heading_texts(text):
        base = github_anchor(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


# the CLI

def cli() -> Any:
    """The click group typer builds from the app (typer vendors its own click, so groups are told by their
    ``commands``, options by their ``param_type_name``)."""
    return typer.main.get_command(app)


def is_group(command: Any) -> bool:
    return isinstance(getattr(command, "commands", None), dict)


def mentions(snippets: list[Snippet], root: Any) -> list[Mention]:
    """Every ``closeout WORD ...`` in the snippets, and every snippet that starts with a group's name
    (``cases assign ID USER``, ``users list``): the docs write both for commands."""
    groups = {name for name, command in root.commands.items() if is_group(command)}
    found: list[Mention] = []
    for snippet in snippets:
        starts = [snippet.text[match.end():] for match in _COMMAND.finditer(snippet.text)]
        if not starts and snippet.text.strip().split(" ", 1)[0] in groups:
            starts.append(snippet.text.strip())
        for rest in starts:
            tokens = rest.split()
            if not tokens or not _NAME.match(tokens[0]):
                continue  # `closeout <cmd> --help`, `closeout NAME`: no command name
            words: list[str] = []
            options: list[str] = []
            naming = True  # the first words name the command; after an argument or an option, no more
            for token in tokens:
                if token in _ENDS_A_COMMAND or token.startswith("#"):
                    break  # a comment, the next command of a shell line, or the table's "/"
                if option := _OPTION.match(token):
                    options.append(option.group(1))
                    naming = False
                elif naming and len(words) < 2 and _NAME.match(token):
                    words.append(token)
                else:
                    naming = False
            found.append(Mention(tuple(words), tuple(options), snippet))
    return found


def resolve(root: Any, words: tuple[str, ...]) -> tuple[Any, str]:
    """The command the words name (``a|b`` alternatives each), and what is wrong when they name none."""
    command = root
    path = ["closeout"]
    for word in words:
        if not is_group(command):
            break  # the rest are the command's arguments
        if word not in command.commands:
            known = ", ".join(sorted(command.commands))
            return None, f"{' '.join(path)} has no command {word!r} (it has: {known})"
        command = command.commands[word]
        path.append(word)
    return command, ""


def alternatives(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    """``users add|list`` is two commands."""
    result: list[tuple[str, ...]] = [()]
    for word in words:
        result = [(*done, choice) for done in result for choice in word.split("|")]
    return result


def option_names(command: Any) -> set[str]:
    names = {"--help"}
    for param in command.params:
        if param.param_type_name == "option":
            names.update(param.opts)
            names.update(param.secondary_opts)
    return names


def command_problems(text: str, root: Any, file: str = "README.md") -> list[str]:
    """What is wrong with the commands a Markdown text shows: unknown commands and unknown options."""
    snippets, _ = split_code(text, file)
    problems = []
    for mention in mentions(snippets, root):
        for words in alternatives(mention.words):
            command, problem = resolve(root, words)
            if command is None:
                problems.append(f"{mention.seen}\n    {problem}")
                continue
            unknown = [o for o in mention.options if o not in option_names(command)]
            if unknown:
                problems.append(f"{mention.seen}\n    closeout {' '.join(words)} has no option "
                                f"{', '.join(unknown)} (it has: {', '.join(sorted(option_names(command)))})")
    return problems


def link_problems(path: Path, text: str | None = None) -> list[str]:
    """Links in one Markdown file (or ``text`` as if it were that file) whose target is not a file of the
    repository, or not a heading there."""
    text = path.read_text(encoding="utf-8") if text is None else text
    _, prose = split_code(text, path.name)
    problems = []
    for match in _LINK.finditer(prose):
        target = match.group(1)
        line = prose.count("\n", 0, match.start()) + 1
        where = f"{path.relative_to(ROOT)}:{line}: {match.group(0)}"
        if re.match(r"^(https?|mailto):", target):
            continue
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            problems.append(f"{where}\n    a link outside the repository ({target.split(':')[0]}:)")
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path.resolve()
        try:
            inside = linked.relative_to(ROOT)
        except ValueError:
            problems.append(f"{where}\n    {file_part} is outside the repository")
            continue
        if file_part.startswith("/") or (inside.parts and inside.parts[0] in NOT_THE_REPOSITORY):
            problems.append(f"{where}\n    {file_part} is not a file of the repository")
        elif not linked.exists():
            problems.append(f"{where}\n    {inside} does not exist")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(
                text if linked == path.resolve() else linked.read_text(encoding="utf-8")):
            problems.append(f"{where}\n    {inside} has no heading with the anchor #{anchor}")
    return problems


def contents_problems(text: str) -> list[str]:
    """What the README's contents get wrong: a ``##`` or ``###`` heading left out, an entry that is no
    heading, a wrong anchor, a wrong level or order."""
    lines = text.split("\n")
    if f"## {CONTENTS}" not in lines:
        return [f"README.md has no '## {CONTENTS}' section"]
    entries: list[tuple[int, str]] = []
    problems: list[str] = []
    for line in lines[lines.index(f"## {CONTENTS}") + 1:]:
        if line.startswith("#"):
            break
        if match := _TOC_ENTRY.match(line):
            indent, heading, anchor = match.groups()
            entries.append((3 if indent else 2, heading))
            if anchor != github_anchor(heading):
                problems.append(f"#{anchor} is not the anchor of {heading!r}: #{github_anchor(heading)}")
    wanted = [(level, heading) for level, heading in heading_texts(text)
              if level in (2, 3) and heading != CONTENTS]
    listed = {heading for _, heading in entries}
    problems += [f"the contents leave out {'#' * level} {heading}" for level, heading in wanted
                 if heading not in listed]
    problems += [f"the contents list {heading!r}, which is no heading" for _, heading in entries
                 if heading not in {h for _, h in wanted}]
    if not problems and entries != wanted:
        problems.append(f"the contents list the headings in another order or at another level: {entries}")
    return problems


# the tests

@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_closeout_command_the_docs_show_is_a_command_of_the_cli_with_those_options(doc):
    problems = command_problems(doc.read_text(encoding="utf-8"), cli(), doc.name)
    assert not problems, "commands in the docs that the CLI does not have:\n" + "\n".join(problems)


def test_the_readme_shows_enough_commands_for_the_check_to_mean_something():
    snippets, _ = split_code(README.read_text(encoding="utf-8"))
    found = {m.words for m in mentions(snippets, cli())}
    assert len(found) >= 30, sorted(found)
    assert {("cases", "correct"), ("demo-corrections",), ("users", "add"), ("ui",), ("dashboard",)} <= found


def test_a_made_up_command_or_option_in_the_docs_is_caught():
    root = cli()
    text = ("Run `closeout nonsense`, then\n\n```sh\n.venv/bin/closeout cases frobnicate 3   # no such thing\n"
            "closeout ui --colour red\n```\n\nand `users add|forget dana`; `closeout cases link 4 1043` is fine.\n")
    problems = "\n".join(command_problems(text, root))
    assert "no command 'nonsense'" in problems
    assert "no command 'frobnicate'" in problems
    assert "no option --colour" in problems
    assert "no command 'forget'" in problems
    assert "'link'" not in problems  # a hidden alias is a command
    assert not command_problems("`closeout cases correct ID --keep -m REASON` and `closeout explain 1026`", root)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_to_a_local_file_points_at_a_file_in_the_repository(doc):
    problems = link_problems(doc)
    assert not problems, "links that point at nothing in the repository:\n" + "\n".join(problems)


def test_a_link_outside_the_repository_or_to_a_missing_file_is_caught():
    page = ROOT / "docs" / "csv-format.md"
    text = ("[gone](nowhere.md), [up](../../etc/passwd), [tmp](/tmp/notes.md), [file](file:///etc/hosts), "
            "[venv](../.venv/bin/closeout), [ok](../README.md), [section](#the-columns), `[code](not/a/link.md)`, "
            "[web](https://example.com), [there](../README.md#no-such-section)\n\n## Columns\n")
    problems = "\n".join(link_problems(page, text))
    assert "docs/nowhere.md does not exist" in problems
    assert "../../etc/passwd is outside the repository" in problems
    assert "/tmp/notes.md is outside the repository" in problems
    assert "a link outside the repository (file:)" in problems
    assert "../.venv/bin/closeout is not a file of the repository" in problems
    assert "has no heading with the anchor #the-columns" in problems
    assert "README.md has no heading with the anchor #no-such-section" in problems
    assert "not/a/link.md" not in problems and "example.com" not in problems and "[ok]" not in problems
    assert len(problems.split("\n    ")) == 8, problems
    assert not link_problems(page, "[the columns](#columns), [the drop](../README.md#the-csv-drop)\n\n## Columns\n")


def test_the_readme_contents_list_every_section_heading_in_order():
    problems = contents_problems(README.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


def test_a_heading_missing_from_the_contents_is_caught():
    text = "# T\n\n## Contents\n\n- [A b](#a-b)\n\n## A b\n\n### C: d\n\n```sh\n## not a heading\n```\n"
    assert contents_problems(text) == ["the contents leave out ### C: d"]
    assert contents_problems(text.replace("(#a-b)\n", "(#a-b)\n  - [C: d](#c-d)\n")) == []
    assert contents_problems(text.replace("(#a-b)\n", "(#a-b)\n  - [C: d](#c:-d)\n")) == [
        "#c:-d is not the anchor of 'C: d': #c-d"]
    assert contents_problems(text.replace("(#a-b)\n", "(#a-b)\n- [C: d](#c-d)\n"))[0].startswith(
        "the contents list the headings in another order or at another level")


def test_github_anchors_are_made_as_github_makes_them():
    assert github_anchor("Mail (IMAP, Maildir, mbox)") == "mail-imap-maildir-mbox"
    assert github_anchor("Tax, terms and the invoice's other fields") == "tax-terms-and-the-invoices-other-fields"
    assert github_anchor("Ledgers: QuickBooks Online and Xero") == "ledgers-quickbooks-online-and-xero"
    assert github_anchor("What `make demo` runs") == "what-make-demo-runs"
