"""The shell commands the docs show (README.md and docs/**/*.md), found and classified for
tests/test_doc_commands.py. The rules for writing them are in docs/writing_docs.md.

A fenced block is read by its language: ``bash``/``sh``/``shell`` (every line is a command),
``console`` (lines starting with ``$ `` are commands, the others their output), or one of
:data:`NOT_RUN_FENCES` (code, configuration, output: never run). A fence without a language is a
defect (it could hide a command). A shell block preceded by ``<!-- doc-test: not-run REASON -->``
is not run, and the reason is required.

Each command (``\\`` continuations joined, a here-document with its body) is split at ``&&``,
``||`` and ``;`` into simple commands, and each gets a :data:`CLASSES` entry by its program:
what the fast tier checks and whether the e2e tier runs it on the demo outputs. A command of no
class fails the test, naming the file and line.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
#: The package's console commands (name -> "module:function"), from pyproject.toml.
CONSOLE_SCRIPTS: dict[str, str] = PYPROJECT["project"]["scripts"]

SHELL_FENCES = frozenset({"bash", "sh", "shell", "console"})
#: Fences that hold no command to run: code, configuration, pseudo-code, output.
NOT_RUN_FENCES = frozenset({"text", "python", "yaml", "toml", "json", "ini", "csv", "diff"})
NOT_RUN_MARKER = re.compile(r"^\s*<!--\s*doc-test:\s*not-run\b(?P<reason>.*?)-->\s*$")

#: What each class of command is checked for. ``fast``: the check of the fast tier; ``e2e``: the
#: command also runs, as written, on a copy of the tiny demo run (``demo_run``).
CLASSES: dict[str, str] = {
    "snakemake": "dry run (-n) of the shipped config.yaml in a scratch folder with profiles/",
    "snakemake-report": "options parsed; e2e: run on the demo outputs",
    "serrules": "options parsed by the command's own parser; e2e: run on the demo outputs",
    "python-heredoc": "compiles; e2e: run on the demo outputs, exit 0",
    "python-script": "the repository script exists and parses the options",
    "pip": "pip's own option parser; constraint/requirement files and extras exist",
    "venv": "python -m venv with one target folder",
    "activate": "sources <venv>/bin/activate of a venv created earlier in the same file",
    "apt-get": "apt-get update / install PACKAGES (syntax only: needs root and a network)",
    "pytest": "every -m marker is declared in pyproject.toml; paths exist",
    "files": "cp / mkdir / mv: run in the scratch folder (they set up later commands)",
    "shell-script": "the repository script exists and passes bash -n",
    "lint": "ruff / snakefmt run as written from the repository root; a usage error fails",
}

#: serrules commands that the e2e tier does not run, with the reason (options are parsed).
PARSE_ONLY = {
    ("serrules.training.pretrained", "fetch"): "downloads weights from the model hub",
}


@dataclass
class Fence:
    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    body: list[str]
    not_run_reason: str | None = None  # set by a doc-test: not-run marker


@dataclass
class Command:
    """One simple command of a docs block."""

    path: Path
    line: int  # 1-based line of its first line in the file
    text: str  # as written (continuations kept), runnable by bash
    index: int = 0  # position in its line's && / ; chain
    heredoc: str | None = None  # the body of a here-document
    argv: list[str] = field(default_factory=list)  # after env assignments and wrappers
    env: dict[str, str] = field(default_factory=dict)
    kind: str | None = None
    problem: str | None = None

    @property
    def where(self) -> str:
        return f"{_shown(self.path)}:{self.line}" + (f"#{self.index + 1}" if self.index else "")

    def __str__(self) -> str:
        return f"{self.where}: `{self.text.splitlines()[0]}`"


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name


def doc_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<info>.*?)\s*$")


def fences(path: Path) -> list[Fence]:
    lines = path.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = len(m["indent"]), m["fence"]
        language = m["info"].split()[0].lower() if m["info"] else ""
        body, j = [], i + 1
        while j < len(lines) and not re.match(rf"^\s*{re.escape(fence)}\s*$", lines[j]):
            line = lines[j]
            body.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
            j += 1
        reason = None
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        marker = NOT_RUN_MARKER.match(lines[k]) if k >= 0 else None
        if marker:
            reason = marker["reason"].strip() or ""
        found.append(Fence(path, i + 1, language, body, reason))
        i = j + 1
    return found


def fence_problems(fence: Fence) -> str | None:
    """Why a fence is not acceptable (None when it is)."""
    where = f"{_shown(fence.path)}:{fence.line}"
    if not fence.language:
        return (
            f"{where}: fence without a language; write ```bash (commands this test runs), "
            "```console ($-prompted commands and their output) or ```text (not run)"
        )
    if fence.language not in SHELL_FENCES | NOT_RUN_FENCES:
        return f"{where}: unknown fence language {fence.language!r} (docs/writing_docs.md)"
    if fence.not_run_reason == "":
        return f"{where}: a doc-test: not-run marker needs a reason"
    if fence.not_run_reason is not None and fence.language not in SHELL_FENCES:
        return f"{where}: a doc-test: not-run marker on a {fence.language} block (never run)"
    return None


def _heredoc_delimiter(line: str) -> str | None:
    m = re.search(r"<<-?\s*(['\"]?)(\w+)\1", line)
    return m.group(2) if m else None


def block_commands(fence: Fence) -> list[tuple[int, str, str | None]]:
    """``(line offset in the body, command text, here-document body)`` of a shell block."""
    out, i, lines = [], 0, fence.body
    console = fence.language == "console"
    while i < len(lines):
        line = lines[i]
        if console:
            if not line.startswith("$"):
                i += 1
                continue
            line = line[1:].lstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            i += 1
            continue
        start, parts = i, [line]
        while parts[-1].endswith("\\") and i + 1 < len(lines):
            i += 1
            parts.append(lines[i])
        text, heredoc = "\n".join(parts), None
        delimiter = _heredoc_delimiter(text)
        if delimiter:
            body = []
            while i + 1 < len(lines) and lines[i + 1].strip() != delimiter:
                i += 1
                body.append(lines[i])
            i += 1  # the delimiter line
            heredoc = "\n".join(body) + "\n"
            text = f"{text}\n{heredoc}{delimiter}"
        out.append((start, text, heredoc))
        i += 1
    return out


def split_simple(text: str) -> list[str]:
    """The simple commands of a command line, split at top-level ``&&``, ``||`` and ``;``
    (quotes respected; a here-document body stays with its command)."""
    first, nl, rest = text.partition("\n") if _heredoc_delimiter(text) else (text, "", "")
    parts, current, quote, i = [], "", None, 0
    while i < len(first):
        c = first[i]
        if quote:
            current += c
            if c == quote:
                quote = None
            elif c == "\\" and quote == '"' and i + 1 < len(first):
                current += first[i + 1]
                i += 1
        elif c in "'\"":
            quote = c
            current += c
        elif c == "\\" and i + 1 < len(first):
            current += first[i : i + 2]
            i += 1
        elif c == "#" and (not current or current[-1].isspace()):
            end = first.find("\n", i)
            i = len(first) if end < 0 else end
            continue
        elif first.startswith(("&&", "||"), i) or c == ";":
            parts.append(current)
            current = ""
            i += 2 if c != ";" else 1
            continue
        else:
            current += c
        i += 1
    parts.append(current)
    parts = [p.strip() for p in parts if p.strip()]
    if nl and parts:
        parts[-1] = f"{parts[-1]}\n{rest}"
    return parts


_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def _strip_prefixes(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """Environment assignments (``VAR=value``) and the wrappers ``time``, ``nice [-n N]`` and
    ``taskset [-c] CPUS`` before the program."""
    env: dict[str, str] = {}
    while argv:
        if _ASSIGNMENT.match(argv[0]):
            key, _, value = argv[0].partition("=")
            env[key] = value
            argv = argv[1:]
        elif argv[0] == "time":
            argv = argv[1:]
        elif argv[0] == "nice":
            argv = argv[3:] if argv[1:2] == ["-n"] else argv[1:]
        elif argv[0] == "taskset":
            argv = argv[3:] if argv[1:2] == ["-c"] else argv[2:]
        else:
            break
    return env, argv


def classify(command: Command) -> None:
    """Set ``argv``, ``env`` and ``kind`` (or ``problem``) of a simple command."""
    first_line = command.text.split("\n", 1)[0] if command.heredoc else command.text
    try:
        argv = shlex.split(first_line.replace("\\\n", " "), comments=True)
    except ValueError as exc:
        command.problem = f"cannot be split into words ({exc})"
        return
    if command.heredoc is not None:  # the here-document operator is not an argument
        at = next(i for i, a in enumerate(argv) if a.startswith("<<"))
        argv = argv[:at] + argv[at + (1 if argv[at].lstrip("<-") else 2) :]
    command.env, argv = _strip_prefixes(argv)
    command.argv = argv
    if not argv:
        command.problem = "no command"
        return
    prog, args = argv[0], argv[1:]
    if prog in ("python", "python3"):
        if args[:1] == ["-m"] and len(args) > 1:
            module = args[1]
            kind = {"pip": "pip", "venv": "venv", "pytest": "pytest", "snakemake": "snakemake"}
            if module in kind:
                command.kind = kind[module]
            elif module.split(".")[0] == "serrules":
                command.kind = "serrules"
        elif args[:1] == ["-"] and command.heredoc is not None:
            command.kind = "python-heredoc"
        elif args and args[0].endswith(".py"):
            command.kind = "python-script"
    elif prog == "snakemake":
        command.kind = "snakemake"
    elif prog in CONSOLE_SCRIPTS:
        command.kind = "serrules"
    elif prog == "pip":
        command.kind = "pip"
    elif prog == "pytest":
        command.kind = "pytest"
    elif prog in (".", "source"):
        command.kind = "activate"
    elif prog == "apt-get" or argv[:2] == ["sudo", "apt-get"]:
        command.kind = "apt-get"
    elif prog in ("cp", "mkdir", "mv"):
        command.kind = "files"
    elif prog == "bash" or prog.startswith(("./", ".ci/")):
        command.kind = "shell-script"
    elif prog in ("ruff", "snakefmt"):
        command.kind = "lint"
    if command.kind == "snakemake" and "--report" in argv:
        command.kind = "snakemake-report"
    if command.kind is None:
        command.problem = (
            f"unrecognised command {prog!r}: not one of the classes of tests/doc_commands.py "
            f"({', '.join(CLASSES)}); put it in a ```text block if it is not meant to run "
            "(docs/writing_docs.md)"
        )


def table_cells(line: str) -> list[str]:
    """The cells of a Markdown table line, stripped."""
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def table_commands(path: Path) -> list[tuple[int, str]]:
    """``(line, command)`` of the `code` cells of every table column headed ``command``."""
    out, column = [], None
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.lstrip().startswith("|"):
            column = None
            continue
        cells = table_cells(line)
        if column is None:
            column = cells.index("command") if "command" in cells else -1
        elif column >= 0 and len(cells) > column and set(cells[column]) - set("-: "):
            out += [(n, code) for code in re.findall(r"`([^`]+)`", cells[column])]
    return out


def doc_commands(paths: list[Path] | None = None) -> tuple[list[Command], list[str]]:
    """Every simple command of the shell blocks of the docs (not-run blocks excluded) and of
    their tables' ``command`` columns, in file order, and the fence problems found on the way."""
    commands, problems = [], []
    for path in paths or doc_files():
        found = [(line, text, None) for line, text in table_commands(path)]
        for fence in fences(path):
            problem = fence_problems(fence)
            if problem:
                problems.append(problem)
                continue
            if fence.language not in SHELL_FENCES or fence.not_run_reason is not None:
                continue
            found += [(fence.line + 1 + k, t, h) for k, t, h in block_commands(fence)]
        for line, text, heredoc in sorted(found, key=lambda item: item[0]):
            for index, simple in enumerate(split_simple(text)):
                command = Command(
                    path, line, simple, index=index, heredoc=heredoc if "\n" in simple else None
                )
                classify(command)
                commands.append(command)
    return commands, problems


def not_run_blocks(paths: list[Path] | None = None) -> list[Fence]:
    return [
        f
        for path in paths or doc_files()
        for f in fences(path)
        if f.not_run_reason and f.language in SHELL_FENCES
    ]


def snakemake_args(command: Command) -> list[str]:
    """The options and targets of a snakemake command (``snakemake ...`` or
    ``python -m snakemake ...``)."""
    argv = command.argv
    return argv[3:] if argv[0].startswith("python") else argv[1:]


def parse_target(command: Command) -> dict:
    """How the options of a serrules or repository-script command are parsed without running it
    (tests/test_doc_commands.py PARSE_SHIM): the entry point, and the program's arguments."""
    argv = command.argv
    if argv[0] in CONSOLE_SCRIPTS:
        return {"how": "function", "target": CONSOLE_SCRIPTS[argv[0]], "name": argv[0],
                "args": argv[1:]}  # fmt: skip
    if argv[1] == "-m":
        return {"how": "module", "target": argv[2], "name": argv[2], "args": argv[3:]}
    return {"how": "path", "target": str(REPO / argv[1]), "name": argv[1], "args": argv[2:]}


def parse_only_reason(command: Command) -> str | None:
    """Why the e2e tier only parses this serrules command (PARSE_ONLY), or None."""
    target = parse_target(command)
    module = target["target"].partition(":")[0]
    subcommand = target["args"][0] if target["args"] else ""
    return PARSE_ONLY.get((module, subcommand))
