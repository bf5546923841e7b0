"""Digests of the code a workflow job runs, for its rule's ``code`` param: a change that can alter
a result reruns the jobs whose code it is, and nothing else (docs/architecture.md, "Provenance").

A job runs one workflow script; the script imports ``serrules`` modules, which import others, at
the top or inside functions, and some modules name others in a string that ``importlib`` loads on
use (a format record's ``parser_ref``, a model's module). :class:`PackageCode` reads these imports
from the source (:meth:`PackageCode.graph`; tests/test_layout.py checks the package's layering on
the same graph) and digests, for a script, the script and every module it reaches, transitively,
with the packages Python initialises on the way and the package data files those modules name
(``tables.yaml``, ``config.schema.yaml``, ``paper_results.yaml``).

Each module counts by its syntax tree without docstrings, written back as source
(``ast.unparse``): comments, docstrings and formatting do not change the digest, nor does a
``__version__`` assignment (the version is recorded with every artifact, serrules.base.provenance);
a YAML file counts by its parsed content. The work is done once per module version: a module's
digest and imports are kept in a small cache file keyed by the module's name and the SHA-256 of its
bytes, so a stale entry can never be served, and within a process every digest is computed once.
Imports nothing but the standard library and PyYAML: the workflow computes these while it plans.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Collection, Iterable, Iterator
from importlib.resources import files
from pathlib import Path

#: The package whose modules are digested, and where its source lies.
PACKAGE = "serrules"
PACKAGE_DIR = Path(str(files(PACKAGE)))

#: Suffixes of the package data files a module can name (a bare file name beside the module).
DATA_SUFFIXES = (".yaml", ".yml", ".json")

#: Format of the cache file; part of its key with the interpreter's minor version, whose
#: ``ast.unparse`` writes the digested text.
CACHE_FORMAT = f"1-py{sys.version_info[0]}.{sys.version_info[1]}"
#: Most module entries the cache keeps (several checkouts or branches may share it).
CACHE_ENTRIES = 2000

#: A reference of a module to another: ``(line, kind, candidates)``; kind ``import`` (an import
#: statement: the first candidate that is a module of the package) or ``name`` (a string constant
#: naming a module, ``"pkg.mod"`` or ``"pkg.mod:attribute"``, or a data file beside the module).
Reference = tuple[int, str, tuple[str, ...]]


def default_cache_path() -> Path:
    """``$XDG_CACHE_HOME/serrules/code_digests.json`` (``~/.cache`` without the variable)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "serrules" / "code_digests.json"


def runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:`` (annotations only, never run)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and getattr(child.test, "id", None) == "TYPE_CHECKING":
                stack.extend(child.orelse)
                continue
            stack.append(child)


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _is_version(node: ast.stmt) -> bool:
    return isinstance(node, ast.Assign) and any(
        getattr(t, "id", None) == "__version__" for t in node.targets
    )


def normalized_source(tree: ast.Module) -> str:
    """The module's code as the digest sees it: docstrings and ``__version__`` assignments left
    out, written back by ``ast.unparse`` (no comments, one formatting). Changes ``tree``."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        if isinstance(node, ast.Module):
            body[:] = [s for s in body if not _is_version(s)]
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            if body and _is_docstring(body[0]):
                del body[0]
            if not body:
                body.append(ast.Pass())
    return ast.unparse(tree)


def _references(tree: ast.Module, name: str, is_package: bool) -> list[Reference]:
    """What a module (dotted ``name``, its package first) imports or names, lazy imports
    included."""
    package = name.partition(".")[0]
    refs: list[Reference] = []
    for node in runtime_nodes(tree):
        if isinstance(node, ast.Import):
            refs += [(node.lineno, "import", (a.name,)) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package upwards
                parts = name.split(".")
                here = parts[: len(parts) - node.level + is_package]
                base = ".".join([*here, *([base] if base else [])])
            refs += [(node.lineno, "import", (f"{base}.{a.name}", base)) for a in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if text.startswith(f"{package}.") or text == package:
                refs.append((node.lineno, "name", (text.partition(":")[0],)))
            elif text.endswith(DATA_SUFFIXES) and "/" not in text and "\n" not in text:
                refs.append((node.lineno, "name", (text,)))
    return refs


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class PackageCode:
    """The modules of one package (``package_dir``, its folder) and the digests of the code that
    scripts run from it. ``cache``: the cache file (None: no file, every module parsed once per
    process)."""

    def __init__(self, package_dir: Path = PACKAGE_DIR, cache: Path | None = None) -> None:
        self.package_dir = Path(package_dir)
        self.package = self.package_dir.name
        self.cache_path = cache
        self._modules: dict[str, Path] | None = None
        self._parsed: dict[str, tuple[str, list[Reference]]] = {}
        self._data: dict[Path, str] = {}
        self._scripts: dict[tuple[Path, frozenset[str]], str] = {}
        self._cache: dict | None = None
        self._cache_dirty = False

    # ------------------------------------------------------------------ modules and their graph
    @property
    def modules(self) -> dict[str, Path]:
        """Dotted name -> file of every module (a package is its ``__init__``)."""
        if self._modules is None:
            root = self.package_dir.parent
            names = {}
            for path in sorted(self.package_dir.rglob("*.py")):
                parts = path.relative_to(root).with_suffix("").parts
                names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
            self._modules = names
        return self._modules

    def _module(self, name: str) -> tuple[str, list[Reference]]:
        """(digest, references) of a module, from the cache when its bytes are known there."""
        if name not in self._parsed:
            path = self.modules[name]
            self._parsed[name] = self._digest_and_references(
                path.read_bytes(), name, path.name == "__init__.py", str(path)
            )
        return self._parsed[name]

    def _digest_and_references(
        self, data: bytes, name: str, is_package: bool, filename: str
    ) -> tuple[str, list[Reference]]:
        key = f"{name}\0{_sha256(data)}"
        cached = self._load_cache()["modules"].get(key)
        if cached is not None:
            return cached[0], [(line, kind, tuple(c)) for line, kind, c in cached[1]]
        tree = ast.parse(data, filename=filename)
        refs = _references(tree, name, is_package)
        digest = _sha256(normalized_source(tree).encode())
        self._cache["modules"][key] = [digest, [[line, kind, list(c)] for line, kind, c in refs]]
        self._cache_dirty = True
        return digest, refs

    def _resolve(self, name: str, refs: Iterable[Reference]) -> Iterator[tuple[str, int, str]]:
        """``(target, line, kind)`` of each reference that is a module of the package (targets
        may repeat); data files are :meth:`data_files`."""
        modules = self.modules
        for line, kind, candidates in refs:
            target = next((c for c in candidates if c in modules), None)
            if target is not None and target != name:
                yield target, line, kind

    def edges(self, name: str) -> dict[str, int]:
        """Module -> line of its first import (or naming) in module ``name``."""
        found: dict[str, int] = {}
        for target, line, _ in self._resolve(name, self._module(name)[1]):
            found.setdefault(target, line)
        return found

    def graph(self) -> dict[str, dict[str, int]]:
        """Module -> {module of the package it imports: line}, lazy imports included, ``if
        TYPE_CHECKING:`` imports left out (they never run). ``from a import b`` imports the module
        ``a.b`` when there is one, else ``a``; the parent packages Python initialises on the way
        are not edges. A string that names a module of the package (``"pkg.mod"`` or
        ``"pkg.mod:attribute"``, for ``importlib`` to resolve on use) counts as an import of it."""
        return {name: self.edges(name) for name in self.modules}

    def data_files(self, name: str) -> list[Path]:
        """The package data files module ``name`` names (a string equal to a file name beside
        it, e.g. ``"tables.yaml"``)."""
        here = self.modules[name].parent
        names = {c[0] for _, kind, c in self._module(name)[1] if kind == "name"}
        return sorted(here / n for n in names if (here / n).is_file())

    # ---------------------------------------------------------------------------- the digests
    def closure(self, roots: Iterable[str], unused: Collection[str] = ()) -> set[str]:
        """Every module that importing ``roots`` can run: their imports, transitively, with the
        parent packages of each. ``unused``: modules that the job never loads by name (another
        format's parser, another model's module): followed only where something imports them
        (not where a string names them)."""
        modules = self.modules
        unknown = sorted(set(unused) - set(modules))
        if unknown:
            raise ValueError(f"not modules of {self.package}: {', '.join(unknown)}")
        seen: set[str] = set()
        stack = [r for r in roots if r in modules]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            parent = name.rpartition(".")[0]
            if parent:
                stack.append(parent)
            for target, _, kind in self._resolve(name, self._module(name)[1]):
                if kind == "import" or target not in unused:
                    stack.append(target)
        return seen

    def _data_digest(self, path: Path) -> str:
        """A YAML or JSON file by its parsed content (comments and layout do not count)."""
        if path not in self._data:
            data = path.read_bytes()
            key = _sha256(data)
            cached = self._load_cache()["data"].get(key)
            if cached is None:
                import yaml

                content = yaml.safe_load(data)
                cached = _sha256(json.dumps(content, sort_keys=True, default=str).encode())
                self._cache["data"][key] = cached
                self._cache_dirty = True
            self._data[path] = cached
        return self._data[path]

    def script_digest(self, script: str | os.PathLike[str], unused: Collection[str] = ()) -> str:
        """``sha256:<hex>`` of what running ``script`` (a file outside the package, e.g. a
        workflow script) executes of this package: the script, each module of
        :meth:`closure` of its imports and each package data file they name (``unused``: as for
        :meth:`closure`). Independent of where the script and the package lie."""
        script = Path(script).resolve()
        key = (script, frozenset(unused))
        if key not in self._scripts:
            digest, refs = self._digest_and_references(
                script.read_bytes(), f"{self.package}.<script>", False, str(script)
            )
            roots = [t for t, _, _ in self._resolve("", refs)]
            self._scripts[key] = self._digest([f"script {digest}"], roots, unused)
            self.save_cache()
        return self._scripts[key]

    def modules_digest(self, roots: Iterable[str], unused: Collection[str] = ()) -> str:
        """``sha256:<hex>`` of what importing the modules ``roots`` can run (the command line's
        digest of a command's module), as :meth:`script_digest` counts it."""
        roots = list(roots)
        unknown = [r for r in roots if r not in self.modules]
        if unknown:
            raise ValueError(f"not modules of {self.package}: {', '.join(unknown)}")
        digest = self._digest([], roots, unused)
        self.save_cache()
        return digest

    def _digest(self, head: list[str], roots: Iterable[str], unused: Collection[str]) -> str:
        lines = list(head)
        for name in sorted(self.closure(roots, unused)):
            lines.append(f"{name} {self._module(name)[0]}")
            for data in self.data_files(name):
                rel = data.relative_to(self.package_dir).as_posix()
                lines.append(f"{rel} {self._data_digest(data)}")
        return "sha256:" + _sha256("\n".join(lines).encode())

    # -------------------------------------------------------------------------------- the cache
    def _load_cache(self) -> dict:
        if self._cache is None:
            self._cache = {"format": CACHE_FORMAT, "modules": {}, "data": {}}
            if self.cache_path is not None:
                try:
                    loaded = json.loads(Path(self.cache_path).read_text())
                except (OSError, ValueError):
                    loaded = None
                if isinstance(loaded, dict) and loaded.get("format") == CACHE_FORMAT:
                    self._cache.update(modules=loaded["modules"], data=loaded["data"])
        return self._cache

    def save_cache(self) -> None:
        """Write the cache file if this process added to it (atomically; the newest
        :data:`CACHE_ENTRIES` module entries). A cache that cannot be written is left out."""
        if self.cache_path is None or not self._cache_dirty:
            return
        modules = self._cache["modules"]
        kept = dict(list(modules.items())[-CACHE_ENTRIES:])
        text = json.dumps({"format": CACHE_FORMAT, "modules": kept, "data": self._cache["data"]})
        path = Path(self.cache_path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except OSError:
            return
        self._cache_dirty = False


_PACKAGE_CODE: dict[Path | None, PackageCode] = {}


def package_code(cache: Path | None = None) -> PackageCode:
    """The installed package's :class:`PackageCode` (one per cache file and process)."""
    if cache not in _PACKAGE_CODE:
        _PACKAGE_CODE[cache] = PackageCode(PACKAGE_DIR, cache)
    return _PACKAGE_CODE[cache]


def script_digest(script: str | os.PathLike[str], unused: Collection[str] = ()) -> str:
    """:meth:`PackageCode.script_digest` of the installed package, cached in
    :func:`default_cache_path`."""
    return package_code(default_cache_path()).script_digest(script, unused)


def module_digest(name: str) -> str:
    """:meth:`PackageCode.modules_digest` of one module of the installed package (e.g. a
    command of the command line), cached in :func:`default_cache_path`."""
    return package_code(default_cache_path()).modules_digest([name])


__all__ = [
    "CACHE_ENTRIES",
    "CACHE_FORMAT",
    "DATA_SUFFIXES",
    "PACKAGE",
    "PACKAGE_DIR",
    "PackageCode",
    "default_cache_path",
    "module_digest",
    "normalized_source",
    "package_code",
    "runtime_nodes",
    "script_digest",
]
