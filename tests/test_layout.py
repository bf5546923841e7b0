"""The package's folders draw the DAG: a module imports only from its own stage, an earlier stage
or the base (docs/architecture.md), and no two modules import each other, directly or through
others. Checked on the source text, lazy imports included (imports under ``if TYPE_CHECKING:``
serve annotations only and are not counted)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from serrules.base.code_digest import PackageCode, runtime_nodes

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "serrules"

#: Stage order of the pipeline; a stage may import the stages at or before its own position.
STAGES: tuple[str, ...] = (
    "base",
    "corpora",
    "labels",
    "audio",
    "training",
    "evaluation",
    "reporting",
    "cli",
)
#: Packages beside the chain, with what each may import.
SIDE_PACKAGES: dict[str, frozenset[str]] = {
    # the synthetic corpus generator writes native layouts (corpora), checks its simulated votes
    # with the pipeline's own label loss (labels) and writes audio at the pipeline's rate (audio)
    "demo": frozenset({"base", "corpora", "labels", "audio", "demo"}),
}


def _allowed(stage: str) -> frozenset[str]:
    if stage in SIDE_PACKAGES:
        return SIDE_PACKAGES[stage]
    return frozenset(STAGES[: STAGES.index(stage) + 1])


def _imported_stages(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in runtime_nodes(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "serrules":
                names = [f"serrules.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "serrules" and len(parts) > 1:
                found.append((node.lineno, parts[1]))
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE)


def test_every_subpackage_is_a_known_stage():
    folders = {p.relative_to(PACKAGE).parts[0] for p in MODULES}
    assert folders <= set(STAGES) | set(SIDE_PACKAGES), folders - set(STAGES) - set(SIDE_PACKAGES)
    top_level = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert top_level == ["__init__.py"], "modules belong in a stage folder, not beside them"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_its_own_or_an_earlier_stage(path):
    stage = path.relative_to(PACKAGE).parts[0]
    allowed = _allowed(stage)
    wrong = [
        f"line {line}: serrules.{target}"
        for line, target in _imported_stages(path)
        if target not in allowed
    ]
    assert not wrong, f"{stage} may import only {sorted(allowed)}; found {wrong}"


def _declared_all(path: Path) -> set[str] | None:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "__all__" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    return None


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_all_list_names_what_other_modules_import_from_it():
    """A module's ``__all__`` (where it has one) lists every name the package, the workflow
    scripts, the tests and the benchmarks import from it (submodules aside)."""
    repo = PACKAGE.parents[1]
    declared = {_module_name(p): (p, _declared_all(p)) for p in PACKAGE.rglob("*.py")}
    importers = [
        *PACKAGE.rglob("*.py"),
        *(repo / "workflow" / "scripts").glob("*.py"),
        *(repo / "tests").glob("*.py"),
        *(repo / "benchmarks").glob("*.py"),
    ]
    missing = []
    for path in importers:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.ImportFrom) and node.module in declared):
                continue
            names = declared[node.module][1]
            if names is None:
                continue
            for alias in node.names:
                if alias.name not in names and f"{node.module}.{alias.name}" not in declared:
                    missing.append(f"{path.relative_to(repo)}: {node.module}.{alias.name}")
    assert not missing, missing


#: Longest function (lines from ``def`` to its last line: signature and docstring included,
#: decorators not) and most parameters (every named parameter except ``self`` and ``cls``;
#: ``*args`` and ``**kwargs`` count one each, since each is one more way in) of ``src/``.
MAX_FUNCTION_LINES = 80
MAX_PARAMETERS = 8
#: Functions allowed past the limits, ``module:qualified name`` -> why.
SIZE_EXCEPTIONS: dict[str, str] = {}


def _functions(tree: ast.AST, prefix: str = ""):
    """``(qualified name, node)`` of every function and method of a module, nested ones too."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield f"{prefix}{node.name}", node
            yield from _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


def _parameter_count(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    args = node.args
    named = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    starred = (args.vararg is not None) + (args.kwarg is not None)
    return len([a for a in named if a not in ("self", "cls")]) + starred


def test_functions_stay_short_and_take_few_parameters():
    """No function of ``src/`` is longer than :data:`MAX_FUNCTION_LINES` lines or takes more
    than :data:`MAX_PARAMETERS` parameters, except those of :data:`SIZE_EXCEPTIONS`; settings
    that travel together are one object (``TrainConfig``, ``FoldFiles``, ``BootstrapSettings``)."""
    found, seen = [], set()
    for path in sorted(PACKAGE.rglob("*.py")):
        module = str(path.relative_to(PACKAGE))
        for name, node in _functions(ast.parse(path.read_text())):
            lines = node.end_lineno - node.lineno + 1
            params = _parameter_count(node)
            key = f"{module}:{name}"
            if lines > MAX_FUNCTION_LINES or params > MAX_PARAMETERS:
                seen.add(key)
                if key not in SIZE_EXCEPTIONS:
                    found.append(f"{key} (line {node.lineno}): {lines} lines, {params} parameters")
    assert not found, "\n".join(found)
    stale = sorted(set(SIZE_EXCEPTIONS) - seen)
    assert not stale, f"within the limits now, remove from SIZE_EXCEPTIONS: {stale}"


def test_the_size_check_counts_lines_and_parameters():
    source = "def f(a, b=1, *args, c, **kw):\n    '''doc'''\n    return a\n\n\nclass K:\n"
    source += "    def m(self, x):\n        pass\n"
    names = {n: node for n, node in _functions(ast.parse(source))}
    assert set(names) == {"f", "K.m"}
    assert _parameter_count(names["f"]) == 5 and _parameter_count(names["K.m"]) == 1
    assert names["f"].end_lineno - names["f"].lineno + 1 == 3


# --------------------------------------------------------------------------- no import cycles


def _import_graph(package: Path) -> dict[str, dict[str, int]]:
    """The package's import graph, as the code digests of the workflow's rules read it
    (:meth:`serrules.base.code_digest.PackageCode.graph`: lazy imports and modules named for
    importlib included, ``if TYPE_CHECKING:`` imports left out)."""
    return PackageCode(package).graph()


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) through each group of modules that import each other
    (Tarjan's strongly connected components, then a path back to the group's first module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    cycles = []
    for group in groups:
        start, members = group[0], set(group)
        path, seen = [start], {start}
        while True:  # walk inside the group until the start is one step away
            nxt = sorted(w for w in graph[path[-1]] if w in members)
            if start in nxt:
                cycles.append([*path, start])
                break
            step = next((w for w in nxt if w not in seen), None)
            if step is None:  # dead end for this walk: report the group itself
                cycles.append([*group, start])
                break
            path.append(step)
            seen.add(step)
    return cycles


def _describe(cycle: list[str], graph: dict[str, dict[str, int]]) -> str:
    return (
        " -> ".join(f"{a} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:], strict=False))
        + f" -> {cycle[-1]}"
    )


def test_no_module_imports_itself_through_others():
    """No import cycle between the package's modules, lazy imports included: each module can be
    read, and imported, after the modules it imports."""
    graph = _import_graph(PACKAGE)
    assert not _cycles(graph), [_describe(c, graph) for c in _cycles(graph)]


def test_the_cycle_check_finds_a_planted_cycle(tmp_path):
    """The check above can fail: a package whose ``b`` imports ``a`` lazily (inside a function)
    while ``a`` imports ``b`` at the top is reported; under ``if TYPE_CHECKING:`` it is not."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from pkg.sub import a\n")  # a package importing its own
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from pkg.sub.a import x\n    return x\n")
    graph = _import_graph(pkg)
    assert graph["pkg.sub.a"] == {"pkg.sub.b": 1} and graph["pkg.sub.b"] == {"pkg.sub.a": 2}
    assert _cycles(graph) == [["pkg.sub.a", "pkg.sub.b", "pkg.sub.a"]]
    (pkg / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.sub.a import x\n"
    )
    assert _cycles(_import_graph(pkg)) == []
    # a registry naming a module that imports it, for importlib to load: a cycle as well
    (pkg / "sub" / "b.py").write_text('WRITER = "pkg.sub.a:write"\n')
    assert _cycles(_import_graph(pkg)) == [["pkg.sub.a", "pkg.sub.b", "pkg.sub.a"]]
