"""The code digests of the workflow's rules (serrules.base.code_digest): what changes them and what
does not, on a small package written here and on copies of this package's modules; the cache
that makes them cheap. The reruns they cause in the workflow: tests/test_code_changes.py."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from serrules.base import code_digest
from serrules.base.code_digest import PACKAGE_DIR, PackageCode, normalized_source

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "workflow" / "scripts"

MODULE = '''"""A module docstring."""

import math

RATE = 16_000  # a comment


def scale(x):
    """Scale x."""
    # why: the rate is fixed
    return x * RATE / math.pi


class Model:
    """A class."""

    def forward(self, x):
        return scale(x)
'''


def _digest(text: str) -> str:
    return normalized_source(ast.parse(text))


def test_comments_docstrings_and_formatting_do_not_count():
    same = MODULE.replace("# a comment", "# another comment").replace('"""Scale x."""', "")
    same = same.replace("return x * RATE / math.pi", "return (x*RATE)/math.pi  # reformatted")
    same = same.replace('"""A class."""', '"""A class,\n    documented at length."""')
    same = '"""Another module docstring."""\n' + same.split("\n", 1)[1]
    assert _digest(same) == _digest(MODULE)
    assert _digest(MODULE + "\n__version__ = '9.9'\n") == _digest(MODULE)  # recorded, not code


@pytest.mark.parametrize(
    "change",
    [
        ("x * RATE", "x * RATE * 2"),  # an expression
        ("RATE = 16_000", "RATE = 8_000"),  # a constant
        ("import math", "import cmath as math"),  # an import
        ("return scale(x)", "return scale(x + 0)"),  # a method body
    ],
)
def test_a_change_of_the_syntax_tree_counts(change):
    assert _digest(MODULE.replace(*change)) != _digest(MODULE)


def _package(root: Path) -> Path:
    """``pkg``: a script's direct import (``pkg.a``), a lazy import inside a function (``pkg.b``),
    a module named for importlib (``pkg.c``, as a format names its parser), a data file named
    beside a module (``table.yaml``), a package ``__init__`` on the way (``pkg.sub``) and a
    module nothing imports (``pkg.d``)."""
    pkg = root / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text('__version__ = "1.0"\n')
    (pkg / "sub" / "__init__.py").write_text("LIMIT = 3\n")
    (pkg / "a.py").write_text(
        "from pkg.sub import e\n\ndef run():\n    from pkg import b\n    return b.go()\n"
    )
    (pkg / "b.py").write_text(
        'PARSER = "pkg.c:parse"\nDATA = "table.yaml"\n\ndef go():\n    return 1\n'
    )
    (pkg / "c.py").write_text("def parse():\n    return 2\n")
    (pkg / "d.py").write_text("X = 1\n")
    (pkg / "sub" / "e.py").write_text("Y = 2\n")
    (pkg / "table.yaml").write_text("# the columns\ncolumns: [a, b]\n")
    script = root / "script.py"
    script.write_text("from pkg.a import run\n\nrun()\n")
    return script


def test_a_script_digest_covers_what_the_script_can_run(tmp_path):
    script = _package(tmp_path)
    pkg = tmp_path / "pkg"

    def digest(unused=()):
        return PackageCode(pkg).script_digest(script, unused)

    first = digest()
    assert PackageCode(pkg).closure(["pkg.a"]) == {"pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.sub",
                                                   "pkg.sub.e"}  # fmt: skip
    for path, old, new in [
        ("a.py", "return b.go()", "return b.go() + 0"),  # the script's import
        ("b.py", "return 1", "return 10"),  # imported inside a function
        ("c.py", "return 2", "return 20"),  # named for importlib
        ("sub/__init__.py", "LIMIT = 3", "LIMIT = 4"),  # a package Python initialises
        ("sub/e.py", "Y = 2", "Y = 3"),  # imported from that package
        ("table.yaml", "[a, b]", "[a, c]"),  # package data a module names
    ]:
        file = pkg / path
        before = file.read_text()
        file.write_text(before.replace(old, new))
        assert digest() != first, path
        file.write_text(before)
    assert digest() == first
    # what cannot change a result: nothing imports pkg.d; a comment in the data file; the version
    (pkg / "d.py").write_text("X = 2\n")
    (pkg / "table.yaml").write_text("# the columns, commented\ncolumns:\n  - a\n  - b\n")
    (pkg / "__init__.py").write_text('"""The package."""\n__version__ = "1.1"\n')
    assert digest() == first
    # a module named for importlib that the job does not run is left out, unless imported
    unused = digest({"pkg.c"})
    (pkg / "c.py").write_text("def parse():\n    return 3\n")
    assert digest({"pkg.c"}) == unused and digest() != first
    with pytest.raises(ValueError, match="pkg.nowhere"):
        digest({"pkg.nowhere"})


def test_the_digest_does_not_depend_on_where_the_code_lies(tmp_path):
    script = _package(tmp_path / "one")
    shutil.copytree(tmp_path / "one", tmp_path / "two")
    assert PackageCode(tmp_path / "one" / "pkg").script_digest(script) == PackageCode(
        tmp_path / "two" / "pkg"
    ).script_digest(tmp_path / "two" / "script.py")


def test_the_cache_is_keyed_by_content_and_never_serves_a_stale_digest(tmp_path, monkeypatch):
    script = _package(tmp_path)
    pkg, cache = tmp_path / "pkg", tmp_path / "cache" / "digests.json"
    first = PackageCode(pkg, cache).script_digest(script)
    assert cache.is_file()

    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed although the cache knows these bytes")

    monkeypatch.setattr(code_digest.ast, "parse", no_parsing)
    assert PackageCode(pkg, cache).script_digest(script) == first  # every module from the cache
    (pkg / "b.py").write_text((pkg / "b.py").read_text().replace("return 1", "return 10"))
    with pytest.raises(AssertionError, match="parsed although"):
        PackageCode(pkg, cache).script_digest(script)  # new bytes: parsed, not looked up
    monkeypatch.undo()
    assert PackageCode(pkg, cache).script_digest(script) != first
    cache.write_text("{not json")  # a damaged cache is ignored and rewritten
    assert PackageCode(pkg, cache).script_digest(script) != first


def _workflow_closure(script: str, runs: set[str] | None = None) -> set[str]:
    """The modules counted in a workflow script's digest, as common.smk's code_digest counts
    them (of the modules loaded by name, the parsers and models, those the job runs)."""
    from serrules.corpora.formats import FORMATS
    from serrules.training.model_names import MODELS

    chosen = {r.parser_module for r in FORMATS.values()} | {m.module for m in MODELS.values()}
    package = PackageCode(PACKAGE_DIR)
    text = (SCRIPTS / f"{script}.py").read_text()
    roots = [
        name
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.ImportFrom)
        for name in (node.module,)
    ]
    return package.closure(roots, chosen - (runs or set()))


def test_each_stage_counts_its_own_modules():
    """The modules behind the issue's examples: the training loss is counted by the training
    job only; a parser by the label stage of its format only; the metrics by the evaluation
    rules only."""
    loss, metrics = "serrules.training.loss", "serrules.evaluation.metrics"
    scripts = sorted(p.stem for p in SCRIPTS.glob("*.py"))
    own = {"label_tables": {"serrules.corpora.iemocap"},
           "train_fold": {"serrules.training.models.egemaps_mlp"}}  # fmt: skip
    closures = {s: _workflow_closure(s, own.get(s)) for s in scripts}
    assert [s for s in scripts if loss in closures[s]] == ["train_fold"]
    assert [s for s in scripts if "serrules.corpora.iemocap" in closures[s]] == ["label_tables"]
    assert not any("serrules.corpora.podcast" in c for c in closures.values())
    assert "serrules.training.models.wav2vec2" not in closures["train_fold"]
    assert [s for s in scripts if metrics in closures[s]] == [
        "backbone_comparison",
        "calibration",
        "evaluate_corpus",
        "paper_audit",  # its Tables 4-6 layout (result_tables) imports the metrics
        "paper_comparison",
        "per_class_scores",
        "protocol_comparison",
        "result_tables",
    ]
