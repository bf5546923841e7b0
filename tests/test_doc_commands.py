"""Every command the docs show runs as written: the shell blocks of README.md and docs/**/*.md
(found and classified by tests/doc_commands.py; how to write them: docs/writing_docs.md).

Fast tier (one test per command, named by file and line): snakemake commands are dry-run (``-n``)
on the shipped config.yaml in a scratch folder holding a copy of profiles/; serrules and
repository-script commands have their options parsed by the program's own parser; here-document
Python compiles; install and test-runner commands are checked for what can be checked without
installing (pip's option parser, constraint files, extras, declared markers). E2e tier: the
serrules commands, the Python here-documents and ``snakemake --report`` run, in the order of their
file, on a copy of the tiny demo run (``demo_run``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from demo_workflow import copy_run
from doc_commands import (
    CLASSES,
    PYPROJECT,
    REPO,
    Command,
    doc_commands,
    doc_files,
    parse_only_reason,
    parse_target,
    snakemake_args,
)

COMMANDS, FENCE_PROBLEMS = doc_commands()
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
#: Options a dry run cannot take, with the reason; dropped from the dry run, parsed all the same.
NOT_IN_DRY_RUN = {"--conda-create-envs-only": "creates conda environments (downloads)"}
#: Commands that set up the scratch folder for the ones after them in the same file.
SETUP_KINDS = {"files"}
E2E_KINDS = {"serrules", "python-heredoc", "snakemake-report"}


def _ids(command: Command) -> str:
    return command.where


def _env(command: Command | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    if command is not None:
        env.update(command.env)
    return env


def _tail(proc: subprocess.CompletedProcess, lines: int = 25) -> str:
    text = (proc.stdout or "") + (proc.stderr or "")
    return "\n".join(text.strip().splitlines()[-lines:])


def _fail(command: Command, what: str, proc: subprocess.CompletedProcess | None = None) -> None:
    detail = f"\n{_tail(proc)}" if proc is not None else ""
    pytest.fail(f"{command}\n  {what}{detail}", pytrace=False)


def _bash(command: Command, cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", command.text],
        cwd=cwd,
        env=_env(command),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _earlier(command: Command, kinds: set[str]) -> list[Command]:
    """The commands of the same file before this one, of the given kinds."""
    same = [c for c in COMMANDS if c.path == command.path]
    return [c for c in same[: same.index(command)] if c.kind in kinds and not c.problem]


# ------------------------------------------------------------------------------ fast tier


def test_every_fence_says_what_it_holds():
    """A fence without a language could hide a command this test would never see."""
    assert not FENCE_PROBLEMS, "\n".join(FENCE_PROBLEMS)


def test_relative_links_point_to_files():
    """A moved or renamed doc leaves no dangling link (anchors are not checked)."""
    broken = []
    for path in doc_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)\s]*)?\)", line):
                if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
                    continue
                if not (path.parent / target).exists():
                    broken.append(f"{path.relative_to(REPO)}:{number}: {target}")
    assert not broken, "\n".join(broken)


def test_the_docs_show_commands():
    """The extraction itself works: the README's quick start is found and classified."""
    readme = [c for c in COMMANDS if c.path.name == "README.md"]
    assert any(c.kind == "snakemake" and "all" in c.argv for c in readme)
    assert {c.kind for c in COMMANDS if c.kind} <= set(CLASSES)


SAMPLE = """\
```bash
python3 -m venv .venv && . .venv/bin/activate   # a comment
snakemake --cores 2 \\
    all
python - <<'EOF'
x = 1
if x:
    print("  # not a comment")
EOF
frobnicate --now
```

```console
$ serrules show results/iemocap/labels_AR.parquet
iemocap labels_AR: 233 rows
```

<!-- doc-test: not-run needs a licensed corpus -->
```bash
serrules labels --format iemocap /data/IEMOCAP_full_release out
```

```
snakemake --cores 2 all
```

```text
snakemake --this-is-output
```

| name | command | result |
| --- | --- | --- |
| demo | `time snakemake --cores 2 all` | 5 min |

| subcommand | what it does |
| --- | --- |
| `serrules show` | not a command to run |
"""


def test_extraction_reads_blocks_as_a_reader_would(tmp_path):
    doc = tmp_path / "sample.md"
    doc.write_text(SAMPLE)
    commands, problems = doc_commands([doc])
    found = [(c.where, c.kind, c.argv) for c in commands]
    assert found == [
        ("sample.md:2", "venv", ["python3", "-m", "venv", ".venv"]),
        ("sample.md:2#2", "activate", [".", ".venv/bin/activate"]),
        ("sample.md:3", "snakemake", ["snakemake", "--cores", "2", "all"]),
        ("sample.md:5", "python-heredoc", ["python", "-"]),
        ("sample.md:10", None, ["frobnicate", "--now"]),
        ("sample.md:14", "serrules", ["serrules", "show", "results/iemocap/labels_AR.parquet"]),
        ("sample.md:33", "snakemake", ["snakemake", "--cores", "2", "all"]),
    ]
    heredoc = commands[3]
    assert heredoc.heredoc == 'x = 1\nif x:\n    print("  # not a comment")\n'
    assert heredoc.text.endswith("EOF") and "\\\n" in commands[2].text
    assert "unrecognised command 'frobnicate'" in commands[4].problem
    assert problems == [
        "sample.md:23: fence without a language; write ```bash (commands this test runs), "
        "```console ($-prompted commands and their output) or ```text (not run)"
    ]


def _scratch(command: Command, tmp_path: Path) -> Path:
    """A folder standing for a fresh clone: the shipped config.yaml and profiles/, after the
    set-up commands (cp, mkdir) that come before this command in its file."""
    scratch = tmp_path / "clone"
    scratch.mkdir()
    shutil.copy2(REPO / "config.yaml", scratch / "config.yaml")
    shutil.copytree(REPO / "profiles", scratch / "profiles")
    for earlier in _earlier(command, SETUP_KINDS):
        proc = _bash(earlier, scratch)
        if proc.returncode:
            _fail(command, f"the earlier set-up command {earlier} failed", proc)
    return scratch


_DRY_RUNS: dict[tuple, subprocess.CompletedProcess] = {}


def _check_snakemake(command: Command, tmp_path: Path) -> None:
    args = snakemake_args(command)
    _parse_snakemake(command, args)
    dropped = [a for a in args if a in NOT_IN_DRY_RUN]
    args = [a for a in args if a not in NOT_IN_DRY_RUN]
    extra = []
    uses_profile = any(a in ("--workflow-profile", "--profile") for a in args)
    if uses_profile and shutil.which("conda") is None:
        # the profile asks for conda environments; this machine has no conda (docs say how the
        # line is removed where jobs run in the snakemake environment)
        extra = ["--software-deployment-method", "env-modules"]
    setup = tuple(c.text for c in _earlier(command, SETUP_KINDS))
    key = (tuple(extra + args), tuple(sorted(command.env.items())), setup)
    if key not in _DRY_RUNS:  # the same command after the same set-up: one dry run
        _DRY_RUNS[key] = subprocess.run(
            [*SNAKEMAKE, "--dry-run", *extra, *args],
            cwd=_scratch(command, tmp_path),
            env=_env(command),
            capture_output=True,
            text=True,
            timeout=600,
        )
    proc = _DRY_RUNS[key]
    if proc.returncode:
        note = f" (without {', '.join(dropped)})" if dropped else ""
        _fail(command, f"dry run{note} failed with exit status {proc.returncode}:", proc)


def _parse_snakemake(command: Command, args: list[str]) -> None:
    """Snakemake's own command-line parser (it also checks --set-threads, --config, ...)."""
    import contextlib
    import io

    from snakemake.cli import get_argument_parser

    err, problem = io.StringIO(), None
    try:
        with contextlib.redirect_stderr(err):
            get_argument_parser().parse_args(args)
    except SystemExit as exc:
        problem = err.getvalue().strip() if exc.code else None
    except ValueError as exc:
        problem = str(exc)
    if problem:
        _fail(command, f"snakemake rejects the options: {problem}")


#: Run in a subprocess: parse each program's options with its own argparse parser, then stop.
PARSE_SHIM = r"""
import argparse, contextlib, importlib, io, json, os, runpy, sys, traceback

class Parsed(BaseException):
    pass

depth = [0]

def stop_after(original):
    def wrapper(self, *args, **kwargs):
        depth[0] += 1
        try:
            result = original(self, *args, **kwargs)
        finally:
            depth[0] -= 1
        if depth[0] == 0:
            raise Parsed()
        return result
    return wrapper

argparse.ArgumentParser.parse_args = stop_after(argparse.ArgumentParser.parse_args)
argparse.ArgumentParser.parse_known_args = stop_after(argparse.ArgumentParser.parse_known_args)
results = []
for job in json.load(sys.stdin):
    sys.argv = [job["name"], *job["args"]]
    err = io.StringIO()
    status = "the program finished without parsing its options"
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            if job["how"] == "function":
                module, _, function = job["target"].partition(":")
                getattr(importlib.import_module(module), function)()
            elif job["how"] == "module":
                runpy.run_module(job["target"], run_name="__main__", alter_sys=True)
            else:  # as `python SCRIPT` does: the script's folder first on the path
                sys.path.insert(0, os.path.dirname(os.path.abspath(job["target"])))
                try:
                    runpy.run_path(job["target"], run_name="__main__")
                finally:
                    del sys.path[0]
    except Parsed:
        status = "ok"
    except SystemExit as exc:
        status = "ok" if exc.code in (0, None) else f"exit status {exc.code}: {err.getvalue()}"
    except BaseException:
        status = traceback.format_exc(limit=3)
    results.append(status)
print(json.dumps(results))
"""

_PARSED: dict[str, str] = {}


def _source(target: dict) -> Path | None:
    """The file of a parse target's program (None when it cannot be found)."""
    if target["how"] == "path":
        return Path(target["target"])
    spec = importlib.util.find_spec(target["target"].partition(":")[0])
    return Path(spec.origin) if spec and spec.origin else None


def _without_parser(target: dict) -> str | None:
    """A program that does not use argparse is never run to check it (it would do its work):
    it must compile and be given no arguments. Returns its status, or None for argparse ones."""
    source = _source(target)
    if source is None or not source.is_file():
        return f"{target['target']} not found"
    text = source.read_text()
    if "argparse" in text:
        return None
    try:
        compile(text, str(source), "exec")
    except SyntaxError as exc:
        return f"{source.name} does not compile: {exc}"
    if target["args"]:
        return f"{source.name} has no argparse parser, so its arguments cannot be checked"
    return "ok"


def _parse_results() -> dict[str, str]:
    """Every serrules / repository-script command's options parsed, in one subprocess."""
    if not _PARSED:
        candidates = [c for c in COMMANDS if c.kind in ("serrules", "python-script")]
        jobs = []
        for command in candidates:
            if command.problem:
                continue
            status = _without_parser(parse_target(command))
            if status is None:
                jobs.append(command)
            else:
                _PARSED[command.where] = status
        targets = [parse_target(c) for c in jobs]
        proc = subprocess.run(
            [sys.executable, "-c", PARSE_SHIM],
            input=json.dumps(targets),
            cwd=REPO,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr
        results = json.loads(proc.stdout.strip().splitlines()[-1])
        _PARSED.update({c.where: r for c, r in zip(jobs, results, strict=True)})
    return _PARSED


def _check_parsed(command: Command, tmp_path: Path) -> None:
    if command.kind == "python-script" and not (REPO / command.argv[1]).is_file():
        _fail(command, f"{command.argv[1]} is not a file of the repository")
    status = _parse_results()[command.where]
    if status != "ok":
        _fail(command, f"the program's parser rejects the options: {status}")


def _check_heredoc(command: Command, tmp_path: Path) -> None:
    try:
        compile(command.heredoc or "", command.where, "exec")
        problem = None
    except SyntaxError as exc:
        problem = str(exc)
    if problem:
        _fail(command, f"the Python does not compile: {problem}")


def _check_pip(command: Command, tmp_path: Path) -> None:
    from pip._internal.commands import create_command

    args = command.argv[3:] if command.argv[0].startswith("python") else command.argv[1:]
    if args[:1] != ["install"]:
        _fail(command, "only `pip install` is a recognised pip command")
    try:
        options, requirements = create_command("install").parse_args(args[1:])
    except SystemExit:
        options = None
    if options is None:
        _fail(command, "pip's parser rejects the options")
    for path in [*options.constraints, *options.requirements]:
        if not (REPO / path).is_file():
            _fail(command, f"{path} is not a file of the repository")
    extras = set(PYPROJECT["project"].get("optional-dependencies", {}))
    for spec in [*options.editables, *requirements]:
        m = re.fullmatch(r"(?P<path>\.[^\[]*)(\[(?P<extras>[^\]]*)\])?", spec)
        if not m:
            continue  # a package from the index: nothing to check offline
        if not (REPO / m["path"]).exists():
            _fail(command, f"{m['path']} does not exist")
        unknown = {e.strip() for e in (m["extras"] or "").split(",") if e.strip()} - extras
        if unknown:
            _fail(command, f"extras {sorted(unknown)} are not in pyproject.toml {sorted(extras)}")


def _venv_folder(command: Command) -> str | None:
    args = [a for a in command.argv[3:] if not a.startswith("-")]
    return args[0] if len(args) == 1 else None


def _check_venv(command: Command, tmp_path: Path) -> None:
    if _venv_folder(command) is None:
        _fail(command, "python -m venv takes one target folder")


def _check_activate(command: Command, tmp_path: Path) -> None:
    if len(command.argv) != 2 or not command.argv[1].endswith("/bin/activate"):
        _fail(command, "expected `. <venv>/bin/activate`")
    folder = command.argv[1].removesuffix("/bin/activate")
    made = {_venv_folder(c) for c in _earlier(command, {"venv"})}
    if folder not in made:
        _fail(command, f"no earlier `python -m venv {folder}` in {command.path.name}")


def _check_apt(command: Command, tmp_path: Path) -> None:
    argv = command.argv[1:] if command.argv[0] == "sudo" else command.argv
    words = [a for a in argv[1:] if not a.startswith("-")]
    ok = words == ["update"] or (
        words[:1] == ["install"]
        and len(words) > 1
        and all(re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", w) for w in words[1:])
    )
    if not ok:
        _fail(command, "expected `apt-get update` or `apt-get install [-y] PACKAGES`")


def _check_pytest(command: Command, tmp_path: Path) -> None:
    args = command.argv[3:] if command.argv[0].startswith("python") else command.argv[1:]
    declared = {
        m.split(":")[0].strip() for m in PYPROJECT["tool"]["pytest"]["ini_options"]["markers"]
    }
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "-m" and i + 1 < len(args):
            used = set(re.findall(r"[A-Za-z_]\w*", args[i + 1])) - {"and", "or", "not"}
            if used - declared:
                _fail(command, f"markers {sorted(used - declared)} are not declared")
            i += 2
            continue
        if not arg.startswith("-") and not (REPO / arg.split("::")[0]).exists():
            _fail(command, f"{arg} does not exist")
        i += 1


def _check_files(command: Command, tmp_path: Path) -> None:
    proc = _bash(command, _scratch(command, tmp_path))
    if proc.returncode:
        _fail(command, f"failed with exit status {proc.returncode}", proc)


def _check_shell_script(command: Command, tmp_path: Path) -> None:
    argv = command.argv[1:] if command.argv[0] == "bash" else command.argv
    script = REPO / argv[0]
    if not script.is_file():
        _fail(command, f"{argv[0]} is not a file of the repository")
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    if proc.returncode:
        _fail(command, "bash -n reports a syntax error", proc)


def _check_lint(command: Command, tmp_path: Path) -> None:
    """Findings (exit status 1) are the lint's business, not the docs'; a usage error (2 and
    above: an unknown option or path) is a broken command."""
    if shutil.which(command.argv[0], path=_env()["PATH"]) is None:
        _fail(command, f"{command.argv[0]} is not installed")
    proc = _bash(command, REPO, timeout=300)
    if proc.returncode not in (0, 1):
        _fail(command, f"failed with exit status {proc.returncode}", proc)


def _check_report_options(command: Command, tmp_path: Path) -> None:
    _parse_snakemake(command, snakemake_args(command))


FAST_CHECKS = {
    "snakemake": _check_snakemake,
    "snakemake-report": _check_report_options,
    "serrules": _check_parsed,
    "python-script": _check_parsed,
    "python-heredoc": _check_heredoc,
    "pip": _check_pip,
    "venv": _check_venv,
    "activate": _check_activate,
    "apt-get": _check_apt,
    "pytest": _check_pytest,
    "files": _check_files,
    "shell-script": _check_shell_script,
    "lint": _check_lint,
}
assert set(FAST_CHECKS) == set(CLASSES)


#: the classes whose check starts a Snakemake subprocess (a dry run): marked ``e2e``, as every
#: test that runs Snakemake, so the fast tier (``-m "not e2e and not slurm"``) starts none
SNAKEMAKE_CHECKS = frozenset({"snakemake"})
#: the classes checked by :func:`_parse_results`: one pytest-xdist group, so that its one
#: subprocess (it imports every program: ~11 s of CPU) runs on one worker, not on each
PARSED_CHECKS = frozenset({"serrules", "python-script"})


def _marked(command: Command):
    if command.kind in SNAKEMAKE_CHECKS:
        return pytest.param(command, marks=pytest.mark.e2e)
    if command.kind in PARSED_CHECKS:
        return pytest.param(command, marks=pytest.mark.xdist_group("docs:parsed"))
    return command


@pytest.mark.parametrize("command", [_marked(c) for c in COMMANDS], ids=_ids)
def test_doc_command(command, tmp_path):
    """The check of the command's class (tests/doc_commands.py CLASSES)."""
    if command.problem:
        _fail(command, command.problem)
    bad_syntax = subprocess.run(["bash", "-n", "-c", command.text], capture_output=True, text=True)
    if bad_syntax.returncode:
        _fail(command, "bash -n reports a syntax error", bad_syntax)
    FAST_CHECKS[command.kind](command, tmp_path)


# ------------------------------------------------------------------------------- e2e tier

E2E_COMMANDS = [
    c for c in COMMANDS if c.kind in E2E_KINDS and not c.problem and not parse_only_reason(c)
]


class DemoCopy:
    """A copy of the tiny demo run (a copy, not links: a command must not change the shared
    run) in which one file's commands run in order; each command runs once, after the e2e and
    set-up commands before it."""

    def __init__(self, demo_run: Path, folder: Path):
        copy_run(demo_run, folder)
        shutil.copytree(REPO / "profiles", folder / "profiles", dirs_exist_ok=True)
        self.folder = folder
        self.done: dict[str, subprocess.CompletedProcess] = {}

    def run(self, command: Command) -> subprocess.CompletedProcess:
        for earlier in _earlier(command, E2E_KINDS | SETUP_KINDS):
            if earlier.where not in self.done and not parse_only_reason(earlier):
                proc = self.run(earlier)
                if proc.returncode:
                    _fail(command, f"the earlier command {earlier} failed", proc)
        if command.where not in self.done:
            if command.kind == "snakemake-report":
                self.done[command.where] = subprocess.run(
                    [*SNAKEMAKE, *snakemake_args(command)],
                    cwd=self.folder,
                    env=_env(command),
                    capture_output=True,
                    text=True,
                    timeout=900,
                )
            else:
                self.done[command.where] = _bash(command, self.folder)
        return self.done[command.where]


@pytest.fixture(scope="module")
def demo_copies(demo_run, tmp_path_factory):
    copies: dict[Path, DemoCopy] = {}

    def copy_for(path: Path) -> DemoCopy:
        if path not in copies:
            copies[path] = DemoCopy(demo_run, tmp_path_factory.mktemp("docs") / "demo")
        return copies[path]

    return copy_for


@pytest.mark.e2e
@pytest.mark.xdist_group("runs:doc_copies")  # one worker: the module-scoped copies are made once
@pytest.mark.parametrize("command", E2E_COMMANDS, ids=_ids)
def test_doc_command_on_the_demo(command, demo_copies):
    """Runs as written on the demo outputs and exits 0."""
    proc = demo_copies(command.path).run(command)
    if proc.returncode:
        _fail(command, f"exit status {proc.returncode} on the demo outputs:", proc)
