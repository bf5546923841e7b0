"""serrules.base.files.atomic_path: a file appears under its final name only when fully written."""

from __future__ import annotations

import pytest

from serrules.base.files import atomic_path


def test_the_file_is_renamed_into_place_when_the_block_ends(tmp_path):
    target = tmp_path / "deep" / "table.csv"
    with atomic_path(target) as tmp:
        tmp.write_text("a,b\n")
        assert tmp.name == "table.csv.tmp" and not target.exists()
    assert target.read_text() == "a,b\n" and not tmp.exists()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError, match="killed"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]
