"""The package reads no file of the checkout: every data file it opens at run time lies beside
its module and is package data of pyproject.toml (so the wheel ships it; .ci/wheel-check runs the
installed wheel outside the checkout)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "serrules"


def test_no_module_reaches_outside_the_package():
    """``__file__`` only as ``Path(__file__).with_name(...)`` (a file beside the module); no
    ``parents[k]``, ``../`` or ``workflow/`` path."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            beside = "__file__" not in code or "Path(__file__).with_name(" in code
            if not beside or re.search(r"parents\[|[\"']\.\./|[\"']workflow/", code):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_every_data_file_beside_a_module_is_package_data():
    """``Path(__file__).with_name("x.yaml")`` in a module: x.yaml must exist there and be listed
    in [tool.setuptools.package-data]."""
    listed = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
            "serrules"
        ]
    )
    read = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for name in re.findall(r"with_name\(\s*[\"']([^\"']+)[\"']", path.read_text()):
            data = path.with_name(name)
            assert data.is_file(), f"{path.relative_to(REPO)} reads {name}, which is missing"
            read.append(data.relative_to(PACKAGE).as_posix())
    assert {"base/config.schema.yaml", "base/tables.yaml"} <= set(read)
    missing = sorted(set(read) - listed)
    assert not missing, f"read at run time but not package data of pyproject.toml: {missing}"
