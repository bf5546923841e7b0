"""Every rule's conda environment (``conda:``, envs/*.yaml) holds every third-party module its
script imports, directly or through serrules (lazy imports and ``"module:attribute"`` references
included), pins the lock's versions (constraints-cpu.txt) and holds every dependency of
pyproject.toml, so that installing the package into it (the env's pip section) fetches nothing.

conda-forge cannot be reached where the tests run, so no environment is built here: the check is
on the files. Read from the source text (no import runs), like tests/test_layout.py."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
RULES_DIR = REPO / "workflow" / "rules"
PACKAGE_ROOT = REPO / "src"

#: Import name -> the conda-forge package names that provide it (the first is the one to add).
CONDA_NAMES: dict[str, tuple[str, ...]] = {
    "yaml": ("pyyaml",),
    "soundfile": ("pysoundfile",),
    "sklearn": ("scikit-learn",),
    "torch": ("pytorch",),
    "PIL": ("pillow",),
    "matplotlib": ("matplotlib-base", "matplotlib"),
}
#: conda-forge package name -> its name in the pip lock, where they differ.
LOCK_NAMES: dict[str, str] = {
    "pysoundfile": "soundfile",
    "pytorch": "torch",
    "matplotlib-base": "matplotlib",
}
#: conda packages that are not Python distributions of the lock.
NOT_IN_LOCK = {"python", "pip", "cuda-version"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def lock() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints-cpu.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[_norm(name)] = version.strip()
    return pins


def env_packages(path: Path) -> dict[str, str | None]:
    """Package name (normalised) -> version pin (None when unpinned) of one env file, conda
    entries and pip entries as written (options such as ``-c`` and ``-e`` left out)."""
    spec = yaml.safe_load(path.read_text())
    found: dict[str, str | None] = {}
    for dep in spec["dependencies"]:
        if isinstance(dep, dict):
            for entry in dep.get("pip", []):
                if not entry.startswith("-"):
                    name, _, version = entry.partition("==")
                    found[_norm(name)] = version.strip() or None
            continue
        parts = dep.split()
        version = parts[1].lstrip("=").split("=")[0] if len(parts) > 1 else None
        found[_norm(parts[0])] = version
    return found


def _assignments() -> dict[str, str]:
    text = (RULES_DIR / "common.smk").read_text()
    return dict(re.findall(r"^([A-Z_]+) = (.+)$", text, flags=re.M))


def _env_files(value: str, seen: frozenset[str] = frozenset()) -> list[Path]:
    """The env file(s) a ``conda:`` value can name: a string literal (relative to rules/) or a
    name assigned in common.smk (every literal and name its expression can take)."""
    literals = re.findall(r'"([^"]+\.yaml)"', value)
    names = set(re.findall(r"\b([A-Z][A-Z_]+)\b", value)) - seen
    files = [(RULES_DIR / lit).resolve() for lit in literals]
    table = _assignments()
    for name in sorted(names):
        assert name in table, f"conda: {name} is not assigned in common.smk"
        files += _env_files(table[name], seen | {name})
    return sorted(set(files))


def rules_with_envs() -> list[tuple[str, Path, Path]]:
    """``(rule, script, env file)`` for every rule with ``conda:`` (one row per env it can use)."""
    rows = []
    for smk in sorted(RULES_DIR.glob("*.smk")):
        blocks = re.split(r"^rule (\w+):\n", smk.read_text(), flags=re.M)
        for name, body in zip(blocks[1::2], blocks[2::2], strict=True):
            conda = re.search(r"^    conda:\n\s+(.+)$", body, flags=re.M)
            if not conda:
                continue
            script = re.search(r'^    script:\n\s+"([^"]+)"', body, flags=re.M)
            assert script, f"rule {name} ({smk.name}) has conda: but no script:"
            for env in _env_files(conda.group(1)):
                rows.append((name, (RULES_DIR / script.group(1)).resolve(), env))
    return rows


def _module_file(module: str) -> Path | None:
    base = PACKAGE_ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    """Modules a file imports at run time (lazy ones too; not under ``if TYPE_CHECKING:``), with
    ``from a import b`` also giving ``a.b`` and ``"serrules.x:attr"`` strings their module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            ref = re.fullmatch(r"(serrules(?:\.\w+)+)(?::\w+)?", node.value)
            if ref:
                found.add(ref.group(1))
        stack.extend(ast.iter_child_nodes(node))
    return found


@cache
def third_party_imports(script: Path) -> frozenset[str]:
    """Top-level names of the third-party modules ``script`` imports, followed through every
    serrules module it reaches (and each one's parent packages)."""
    todo, done, outside = [script], set(), set()
    while todo:
        path = todo.pop()
        if path in done:
            continue
        done.add(path)
        for module in _imports(path):
            top = module.split(".")[0]
            if top == "serrules":
                parts = module.split(".")
                for k in range(1, len(parts) + 1):
                    found = _module_file(".".join(parts[:k]))
                    if found:
                        todo.append(found)
            elif top not in sys.stdlib_module_names and top != "__future__":
                outside.add(top)
    return frozenset(outside)


def missing_packages(script: Path, env: Path) -> list[str]:
    have = set(env_packages(env))
    missing = []
    for module in sorted(third_party_imports(script)):
        names = CONDA_NAMES.get(module, (module,))
        if not any(_norm(n) in have for n in names):
            missing.append(f"{names[0]} (import {module})")
    return missing


RULE_ENVS = rules_with_envs()
ENV_FILES = sorted({env for _, _, env in RULE_ENVS})


def test_the_rules_and_their_envs_are_found():
    rules = {rule for rule, _, _ in RULE_ENVS}
    assert {"demo_corpus", "label_tables", "egemaps_features", "train_fold"} <= rules
    assert {p.name for p in ENV_FILES} == {p.name for p in (REPO / "envs").glob("*.yaml")}
    for _, script, env in RULE_ENVS:
        assert script.is_file() and env.is_file(), (script, env)


def test_the_import_reader_follows_the_package():
    """The reader sees what a rule needs through serrules: soundfile via the audio loader of the
    demo writer, jsonschema via the config module of a fold job, transformers via the model
    registry's module reference."""
    scripts = REPO / "workflow" / "scripts"
    assert "soundfile" in third_party_imports(scripts / "demo_corpus.py")
    train = third_party_imports(scripts / "train_fold.py")
    assert {"jsonschema", "torch", "transformers", "yaml"} <= train
    assert "yaml" in third_party_imports(scripts / "evaluate_corpus.py")


@pytest.mark.parametrize(
    ("rule", "script", "env"),
    RULE_ENVS,
    ids=[f"{rule}-{env.name}" for rule, _, env in RULE_ENVS],
)
def test_each_rule_env_holds_what_its_script_imports(rule, script, env):
    missing = missing_packages(script, env)
    assert not missing, (
        f"rule {rule}: envs/{env.name} lacks {', '.join(missing)}, imported by "
        f"{script.relative_to(REPO)} (directly or through serrules)"
    )


@pytest.mark.parametrize("env", ENV_FILES, ids=[p.name for p in ENV_FILES])
def test_env_pins_are_the_lock_and_cover_the_package(env):
    """Every pinned version equals constraints-cpu.txt; every dependency of pyproject.toml is in
    the env (pip, installing the package there, then takes nothing from the index); the package
    is installed from the checkout (``-e ..``, read from envs/) under the lock's constraints."""
    packages = env_packages(env)
    for name, version in packages.items():
        if name in NOT_IN_LOCK:
            continue
        want = lock().get(_norm(LOCK_NAMES.get(name, name)))
        assert want is not None, f"envs/{env.name}: {name} is not in constraints-cpu.txt"
        assert version == want, f"envs/{env.name}: {name} pinned {version}, the lock has {want}"
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    inverse = {_norm(v): k for k, v in LOCK_NAMES.items()}
    for dep in pyproject["project"]["dependencies"]:
        name = _norm(re.split(r"[<>=!~ \[]", dep)[0])
        assert inverse.get(name, name) in packages, f"envs/{env.name} lacks {name} (pyproject.toml)"
    pip = next(
        d["pip"] for d in yaml.safe_load(env.read_text())["dependencies"] if isinstance(d, dict)
    )
    assert "-c ../constraints-cpu.txt" in pip and "-e .." in pip, pip
    assert (env.parent / "../constraints-cpu.txt").resolve().is_file()
    assert (env.parent / ".." / "pyproject.toml").resolve().is_file()
