"""Tables 4-6 from a hand-made metrics frame: exact cells, bold placement, CSV numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from serrules.base.errors import TableError
from serrules.evaluation.corpus_metrics import write_metrics
from serrules.reporting.result_tables import format_cell, format_p_value, write_result_tables

# (train, test) -> (value, low, high, p)
F1 = {
    ("MR", "MR"): (0.50, 0.45, 0.55, 0.0),
    ("MR", "PR"): (0.40, 0.35, 0.45, 0.25),
    ("MR", "AR"): (0.30, 0.25, 0.35, 1.0),
    ("PR", "MR"): (0.60, 0.55, 0.65, 0.002),
    ("PR", "PR"): (0.42, 0.40, 0.44, 0.5),
    ("PR", "AR"): (0.30, 0.28, 0.32, 0.03),
    ("AR", "MR"): (0.55, 0.50, 0.60, None),
    ("AR", "PR"): (0.38, 0.36, 0.40, None),
    ("AR", "AR"): (0.36, 0.30, 0.40, None),
}
KLD = {"MR": (0.9, 0.8, 1.0, 0.1), "PR": (0.7, 0.6, 0.8, 0.1), "AR": (0.7, 0.65, 0.75, None)}


def _frame() -> pd.DataFrame:
    rows = []
    for (train, test), (v, lo, hi, p) in F1.items():
        rows.append(("A", train, test, "macro_f1", v, lo, hi, 100, p))
        for metric, scale in (("kld", 1.0), ("jsd", 0.5)):
            kv, klo, khi, kp = KLD[train]
            rows.append(("A", train, test, metric, kv * scale, klo * scale, khi * scale, 100, kp))
    for test in ("MR", "PR", "AR"):
        for metric in ("macro_f1", "kld", "jsd"):
            rows.append(("B", "AR", test, metric, 0.2, 0.1, 0.3, 50, None))
    columns = ["corpus", "train_rule", "test_rule", "metric", "value", "low", "high"]
    frame = pd.DataFrame(rows, columns=[*columns, "n_utterances", "p_value_vs_AR"])
    frame["p_value_vs_AR"] = frame["p_value_vs_AR"].astype(float)
    return frame


def _outputs(folder: Path) -> dict[str, dict[str, Path]]:
    """The nine files of the result_tables rule, in ``folder``."""
    return {
        stem: {ext: folder / f"{stem}.{ext}" for ext in ("csv", "md", "tex")}
        for stem in ("table4", "table5", "table6")
    }


@pytest.fixture
def tables(tmp_path: Path) -> Path:
    frame = _frame()
    settings = {"n_bootstrap": 1000, "alpha": 5.0, "unit": "utterance", "epsilon": 1e-8}
    paths = []
    for corpus in ("A", "B"):
        path = tmp_path / corpus / "metrics.parquet"
        write_metrics(frame[frame["corpus"] == corpus].reset_index(drop=True), path, settings)
        paths.append(path)
    write_result_tables(paths, _outputs(tmp_path / "tables"))
    return tmp_path / "tables"


def test_table4_markdown_cells_and_bold(tables: Path) -> None:
    lines = (tables / "table4.md").read_text().splitlines()
    assert lines[0] == "| Corpus | Train | Average | MR_test | PR_test | AR_test |"
    assert lines[6] == "" and lines[7].startswith("Macro-F1 (%) of each train rule")
    assert lines[2:6] == [
        "| A | MR_train | 40.00 (35.00, 45.00) | 50.00 (45.00, 55.00) p<0.002 "
        "| 40.00 (35.00, 45.00) p=0.250 | 30.00 (25.00, 35.00) p=1.000 |",
        "| A | PR_train | **44.00 (41.00, 47.00)** | **60.00 (55.00, 65.00) p=0.002** "
        "| **42.00 (40.00, 44.00) p=0.500** | 30.00 (28.00, 32.00) p=0.030 |",
        "| A | AR_train | 43.00 (38.67, 46.67) | 55.00 (50.00, 60.00) "
        "| 38.00 (36.00, 40.00) | **36.00 (30.00, 40.00)** |",
        "| B | AR_train | **20.00 (10.00, 30.00)** | **20.00 (10.00, 30.00)** "
        "| **20.00 (10.00, 30.00)** | **20.00 (10.00, 30.00)** |",
    ]


def test_table5_lowest_is_bold_and_ties_share_it(tables: Path) -> None:
    lines = (tables / "table5.md").read_text().splitlines()
    cell = "0.700 (0.600, 0.800) p=0.100"
    assert (
        lines[3]
        == f"| A | PR_train | **0.700 (0.600, 0.800)** | **{cell}** | **{cell}** | **{cell}** |"
    )
    ar = "**0.700 (0.650, 0.750)**"
    assert lines[4] == f"| A | AR_train | {ar} | {ar} | {ar} | {ar} |"
    assert "**" not in lines[2]  # MR_train: worst everywhere
    assert "0.350 (0.300, 0.400)" in (tables / "table6.md").read_text()  # JSD = KLD / 2 here


def test_latex_bold_and_caption(tables: Path) -> None:
    tex = (tables / "table4.tex").read_text()
    assert r"\textbf{60.00 (55.00, 65.00) p=0.002}" in tex
    assert r"\label{tab:macro_f1}" in tex
    assert "95\\% bootstrap confidence intervals (1000 resamples over utterances)" in tex
    assert "AR\\_train" in tex


def test_csv_holds_raw_numbers(tables: Path) -> None:
    csv = pd.read_csv(tables / "table4.csv")
    assert len(csv) == 16  # (3 + 1 train rows) x (Average + 3 test columns)
    assert set(csv["metric"]) == {"macro_f1"}
    row = csv[(csv["corpus"] == "A") & (csv["train_rule"] == "AR") & (csv["column"] == "Average")]
    assert row[["value", "low", "high"]].to_numpy()[0].tolist() == pytest.approx(
        [0.43, (0.5 + 0.36 + 0.3) / 3, (0.6 + 0.4 + 0.4) / 3], abs=1e-15
    )
    assert row["p_value_vs_AR"].isna().all()
    row = csv[(csv["corpus"] == "A") & (csv["train_rule"] == "PR") & (csv["column"] == "AR_test")]
    assert row[["value", "p_value_vs_AR", "n_utterances"]].to_numpy().tolist() == [[0.3, 0.03, 100]]


def test_without_settings_metadata_zero_p_is_not_dressed_up(tmp_path: Path) -> None:
    path = tmp_path / "metrics.parquet"
    _frame().query("corpus == 'A'").to_parquet(path)
    write_result_tables([path], _outputs(tmp_path / "out"))
    assert "50.00 (45.00, 55.00) p=0 |" in (tmp_path / "out" / "table4.md").read_text()


def test_repeated_rows_across_files_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "metrics.parquet"
    _frame().to_parquet(path)
    with pytest.raises(
        TableError, match=r"metrics table: 36 repeated .*\('A', 'MR', 'MR', 'macro_f1'\)"
    ):
        write_result_tables([path, path], _outputs(tmp_path / "out"))


def test_formatters() -> None:
    assert format_p_value(0.0, 1000) == "p<0.002"
    assert format_p_value(0.0, 200) == "p<0.01"
    assert format_p_value(0.046, 1000) == "p=0.046"
    assert format_p_value(float("nan"), 1000) == ""
    assert format_cell(1.23456, 1.0, 1.5, 3) == "1.235 (1.000, 1.500)"


def test_metrics_of_different_origins_are_refused(tmp_path: Path) -> None:
    """Tables 4-6 combine corpora only when their metrics come from one evaluation code and
    settings and score fold predictions of one training code and settings: a corpus evaluated
    (or trained) after a code change while the other was not is refused, naming the files."""
    from serrules.base.errors import ProvenanceError
    from serrules.base.provenance import set_origin, short

    settings = {"n_bootstrap": 1000, "alpha": 5.0, "unit": "utterance", "epsilon": 1e-8}
    old, new = "sha256:" + "1" * 64, "sha256:" + "2" * 64

    def write(corpus: str, evaluation: str, training: str) -> Path:
        set_origin(rule="evaluate_corpus", code=evaluation, settings=old)
        predictions = {"rule": "train_fold", "code": training, "settings": old}
        path = tmp_path / corpus / "metrics.parquet"
        frame = _frame()
        frame = frame[frame["corpus"] == corpus].reset_index(drop=True)
        write_metrics(frame, path, {**settings, "predictions": predictions})
        return path

    try:
        a, b = write("A", old, old), write("B", old, old)
        write_result_tables([a, b], _outputs(tmp_path / "same"))  # one origin: the tables
        b = write("B", new, old)
        with pytest.raises(ProvenanceError) as err:
            write_result_tables([a, b], _outputs(tmp_path / "out"))
        assert "the metrics tables come from different code or settings" in str(err.value)
        assert f"code {short(new)}, settings {short(old)}: {b}" in str(err.value)
        b = write("B", old, new)  # evaluated by the same code, of predictions of newer code
        with pytest.raises(ProvenanceError, match=f"scored in the metrics tables.*: {a};"):
            write_result_tables([a, b], _outputs(tmp_path / "out"))
        assert not (tmp_path / "out").exists()
    finally:
        set_origin(rule=None, code=None, settings=None)
