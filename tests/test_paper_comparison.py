"""The paper's printed values as data (equal, cell for cell, to the transcription in
../shared/data/paper), the vs_paper side-by-side with its summaries and the claims' verdicts, on
hand-made label-loss and metrics frames (and a test-only published file for Tables 4-6)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from serrules.reporting.paper_comparison import (
    Reproduction,
    claims_frame,
    table_cells,
    vs_paper_display,
    vs_paper_frame,
    vs_paper_summary,
)
from serrules.reporting.published import load_published, printed_cells
from serrules.reporting.relative_improvement import relative_improvement

#: The transcription of the paper the package's file must equal (CI has ../shared beside the
#: checkout; the package itself never reads it)
SHARED_PAPER = Path(__file__).resolve().parents[2] / "shared" / "data" / "paper"

FORMATS = {"iemo": "iemocap", "improv": "msp-improv", "other": "crema-d"}


def loss_rows(corpus, values):
    return [
        {
            "corpus": corpus,
            "rule": rule,
            "n_utterances": 100,
            "n_kept": 0,
            "data_loss": d / 100,
            "n_ratings": 100,
            "n_ratings_used": 0,
            "rating_loss": r / 100,
            "n_no_valid_vote": 0,
            "n_no_valid_vote_ratings": 0,
        }
        for rule, (d, r) in values.items()
    ]


LOSS = pd.DataFrame(
    loss_rows("iemo", {"MR": (31.37, 49.44), "PR": (25.32, 45.70), "AR": (0.0, 3.10)})
    + loss_rows("improv", {"MR": (9.20, 28.52), "PR": (5.63, 26.41), "AR": (0.0, 5.12)})
    + loss_rows("other", {"MR": (50.0, 50.0), "PR": (10.0, 10.0), "AR": (0.0, 1.0)})
)


def metrics(ar_gain: float, p: float) -> pd.DataFrame:
    """macro_f1 / kld rows for two corpora as metrics.parquet holds them (F1 as a fraction):
    AR_train's F1 = base + ar_gain points, its KLD 1 - 0.01 ar_gain; the others' F1 = base."""
    rows = []
    for corpus, base in (("iemo", 50.0), ("improv", 80.0)):
        for test in ("MR", "PR", "AR"):
            for train in ("MR", "PR", "AR"):
                for metric in ("macro_f1", "kld"):
                    if metric == "macro_f1":
                        value = (base + (ar_gain if train == "AR" else 0.0)) / 100
                        half = 0.02
                    else:
                        value = 1.0 + (-0.01 * ar_gain if train == "AR" else 0.0)
                        half = 2.0
                    rows.append(
                        {
                            "corpus": corpus,
                            "train_rule": train,
                            "test_rule": test,
                            "metric": metric,
                            "value": value,
                            "low": value - half,
                            "high": value + half,
                            "n_utterances": 10,
                            "p_value_vs_AR": math.nan if train == "AR" else p,
                        }
                    )
    return pd.DataFrame(rows)


@pytest.mark.skipif(not SHARED_PAPER.is_dir(), reason=f"no transcription at {SHARED_PAPER}")
def test_package_holds_exactly_the_printed_cells_and_statements():
    """Every cell of Tables 4-6 and every statement of the text, digits as printed."""
    data = load_published()
    shared = list(csv.DictReader((SHARED_PAPER / "tables_4_6.csv").open()))
    assert len(shared) == 144
    cells = {
        (int(c["table"]), c["corpus"], c["train_rule"], c["column"]): c
        for c in data["cells"]
        if c["table"] != 3
    }
    assert len(cells) == len([c for c in data["cells"] if c["table"] != 3]) == 144
    for row in shared:
        cell = cells[(int(row["table"]), row["corpus"], row["train_rule"], row["column"])]
        got = (cell["metric"], cell["printed"], cell["low"], cell["high"], cell.get("bold", ""))
        assert got == (row["metric"], row["printed"], row["low"], row["high"], row["bold"]), row
        assert cell.get("scale", 1) == (100 if row["metric"] == "macro_f1" else 1)
    statements = {s["id"]: s for s in data["statements"]}
    shared_claims = list(csv.DictReader((SHARED_PAPER / "claims.csv").open()))
    assert list(statements) == [r["id"] for r in shared_claims]
    for row in shared_claims:
        got = statements[row["id"]]
        assert (got["section"], got["text"], got["numbers"], got["checked_against"]) == (
            row["section"],
            row["what the paper states"],
            row["numbers"],
            row["checkable against"],
        )


def test_claims_take_their_printed_numbers_from_the_statements():
    claims = {c["id"]: c for c in load_published()["claims"]}
    assert claims["5.2-ratio-MR"]["printed"] == 5.13
    assert claims["5.2-ratio-PR"]["printed"] == 5.58
    assert claims["5.1-AR-rating"]["printed"] == 3.75
    assert claims["5.1-PR-rating"]["printed"] == 38.03


def test_printed_cells_keep_their_digits_and_scale():
    cells = printed_cells(load_published()).set_index(["table", "corpus", "train_rule", "column"])
    assert len(cells) == 144
    kld = cells.loc[(5, "MSP-PODCAST", "PR", "MR_test")]
    assert (kld["printed"], kld["low"], kld["high"]) == ("1.18", "1.172", "1.19")
    f1 = cells.loc[(4, "IEMOCAP", "MR", "Average")]
    assert f1["value"] == pytest.approx(39.1) and f1["value_high"] == pytest.approx(39.8)
    assert cells.loc[(4, "BIIC-PODCAST", "MR", "MR_test"), "bold"] == "high"


def test_shipped_file_holds_table3_and_its_average_row():
    data = load_published()
    t3 = [c for c in data["cells"] if c["table"] == 3]
    assert len(t3) == 30  # 4 corpora + Average, 3 rules, 2 measures
    # the printed Average row is the mean of the printed corpus rows (to the printed decimals)
    for rule in ("MR", "PR", "AR"):
        for measure in ("data_loss", "rating_loss"):
            rows = [
                c["value"]
                for c in t3
                if c["rule"] == rule and c["measure"] == measure and c["corpus"] != "Average"
            ]
            avg = next(
                c["value"]
                for c in t3
                if c["rule"] == rule and c["measure"] == measure and c["corpus"] == "Average"
            )
            assert abs(np.mean(rows) - avg) <= 0.005 + 1e-9
    ids = {c["id"] for c in data["claims"]}
    assert {"5.2-ratio-MR", "5.2-ratio-PR", "5.1-AR-rating"} <= ids


def test_vs_paper_table3_rows_and_average():
    data = load_published()
    frame = vs_paper_frame(data, Reproduction(LOSS, {"paper": metrics(1.0, 0.01)}, FORMATS))
    row = frame[(frame["source"] == "Table 3") & (frame["corpus"] == "improv")]
    got = row[row["row"] == "MR"].set_index("column")
    assert got.loc["data_loss", "published"] == 9.18
    assert got.loc["data_loss", "reproduced"] == pytest.approx(9.20)
    assert got.loc["data_loss", "difference"] == pytest.approx(0.02)
    # the Average compares the mean over the run's corpora the paper has (not "other")
    avg = frame[frame["paper_corpus"] == "Average"].set_index(["row", "column"])
    assert avg.loc[("MR", "data_loss"), "reproduced"] == pytest.approx((31.37 + 9.20) / 2)
    assert avg.loc[("MR", "data_loss"), "corpus"] == "Average (iemo, improv)"
    assert "other" not in set(frame["corpus"])
    assert not (frame["paper_corpus"] == "MSP-PODCAST").any()


def test_vs_paper_tables_4_to_6_from_a_published_file(tmp_path):
    """A test-only published file with Table 4/5 cells as the paper prints them (fractions with
    3 decimals, scale 100 for F1), with and without CI bounds."""
    data = load_published()
    data["cells"] = [
        {
            "table": 4,
            "corpus": "IEMOCAP",
            "train_rule": "AR",
            "column": "AR_test",
            "metric": "macro_f1",
            "printed": 0.505,
            "low": 0.49,
            "high": 0.52,
            "scale": 100,
        },
        {
            "table": 4,
            "corpus": "MSP-IMPROV",
            "train_rule": "MR",
            "column": "Average",
            "metric": "macro_f1",
            "printed": 0.9,
            "scale": 100,
        },
        {
            "table": 5,
            "corpus": "IEMOCAP",
            "train_rule": "MR",
            "column": "PR_test",
            "metric": "kld",
            "printed": 1.2,
        },
    ]
    path = tmp_path / "published.yaml"
    path.write_text(yaml.safe_dump(data))
    published = load_published(path)
    both = {"paper": metrics(1.0, 0.01), "authors": metrics(2.0, 0.5)}
    frame = vs_paper_frame(published, Reproduction(LOSS, both, FORMATS))
    assert len(frame) == 6  # 3 cells x 2 protocols
    one = frame[(frame["protocol"] == "paper") & (frame["source"] == "Table 4")]
    one = one.set_index("column")
    assert one.loc["AR_test", "published"] == pytest.approx(50.5)
    assert one.loc["AR_test", "reproduced"] == pytest.approx(51.0)
    assert one.loc["AR_test", "low"] == pytest.approx(49.0)
    assert bool(one.loc["AR_test", "published_in_reproduced_ci"]) is True
    assert bool(one.loc["AR_test", "reproduced_in_published_ci"]) is True
    assert one.loc["Average", "reproduced"] == pytest.approx(80.0)  # mean of the 3 test columns
    assert one.loc["Average", "difference"] == pytest.approx(-10.0)
    assert pd.isna(one.loc["Average", "reproduced_in_published_ci"])  # no printed bounds
    kld = frame[(frame["protocol"] == "authors") & (frame["source"] == "Table 5")].iloc[0]
    assert kld["reproduced"] == pytest.approx(1.0) and kld["difference"] == pytest.approx(-0.2)
    assert bool(kld["published_in_reproduced_ci"]) is True  # 1.2 in (-1, 3)
    display = vs_paper_display(frame)
    assert {"reproduced (paper)", "difference (authors)"} <= set(display.columns)
    assert len(display) == 3


def test_published_file_errors_name_the_entry(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"corpora": {}, "cells": [{"table": 4}], "claims": []}))
    with pytest.raises(ValueError, match=r"bad.yaml: cells\[0\] lacks"):
        load_published(path)


@pytest.mark.parametrize(
    ("gain", "p", "verdict"),
    [(1.0, 0.01, "holds"), (1.0, 0.2, "inconclusive"), (-1.0, 0.01, "fails")],
)
def test_claim_verdicts(gain, p, verdict):
    data = load_published()
    frame = claims_frame(data, Reproduction(LOSS, {"paper": metrics(gain, p)}, FORMATS)).set_index(
        "id"
    )
    assert frame.loc["5.2-best-vs-MR", "verdict"] == verdict
    assert frame.loc["5.3-AR_test-vs-PR", "verdict"] == verdict
    assert frame.loc["5.4-KLD-vs-MR", "verdict"] == verdict  # lower KLD favours AR
    assert frame.loc["5.2-best-vs-MR", "reproduced"] == pytest.approx(gain)
    # relative improvement: ratio of the means over the 6 test cells of the run
    want = 100 * ((65.0 + gain) / 65.0 - 1)
    assert frame.loc["5.2-ratio-PR", "reproduced"] == pytest.approx(want)
    assert frame.loc["5.2-ratio-PR", "paper"] == 5.58
    # label-loss claims: mean over iemo and improv only, not the paper's four corpora
    assert frame.loc["5.1-MR-data", "verdict"] == "inconclusive"
    assert "the paper averages 4" in frame.loc["5.1-MR-data", "basis"]
    assert frame.loc["5.1-MR-data", "reproduced"] == pytest.approx((31.37 + 9.20) / 2)


def test_label_loss_claim_holds_when_the_average_prints_as_the_papers():
    rows = []
    for corpus, _fmt in (
        ("a", "iemocap"),
        ("b", "msp-improv"),
        ("c", "msp-podcast"),
        ("d", "biic-podcast"),
    ):
        values = load_published()["cells"]
        paper = {"a": "IEMOCAP", "b": "MSP-IMPROV", "c": "MSP-PODCAST", "d": "BIIC-PODCAST"}[corpus]
        got = {
            rule: tuple(
                next(
                    c["value"]
                    for c in values
                    if c["table"] == 3
                    and c["corpus"] == paper
                    and c["rule"] == rule
                    and c["measure"] == m
                )
                for m in ("data_loss", "rating_loss")
            )
            for rule in ("MR", "PR", "AR")
        }
        rows += loss_rows(corpus, got)
    loss = pd.DataFrame(rows)
    formats = {"a": "iemocap", "b": "msp-improv", "c": "msp-podcast", "d": "biic-podcast"}
    frame = claims_frame(
        load_published(), Reproduction(loss, {"paper": metrics(1.0, 0.01)}, formats)
    )
    label = frame[frame["id"].str.startswith("5.1")]
    assert (label["verdict"] == "holds").all(), label
    # one corpus 0.1 point off moves the average by 0.025: MR data loss no longer prints 26.40
    loss.loc[(loss["corpus"] == "a") & (loss["rule"] == "MR"), "data_loss"] += 0.001
    frame = claims_frame(
        load_published(), Reproduction(loss, {"paper": metrics(1.0, 0.01)}, formats)
    )
    assert frame.set_index("id").loc["5.1-MR-data", "verdict"] == "fails"


def test_relative_improvement_definitions_on_a_run():
    cells = table_cells(metrics(0.0, 0.5))  # F1 x 100: 50 (iemo) and 80 (improv) everywhere
    cells.loc[(cells["train_rule"] == "AR") & (cells["column"] == "AR_test"), "value"] += 6.0
    # AR mean over 6 test cells = 65 + 12/6 = 67 (the Average column is not counted twice)
    assert relative_improvement(cells, "MR", "test_cell_means") == pytest.approx(
        100 * (67 / 65 - 1)
    )
    # per-cell ratios: 6/50 and 6/80 in one test column each, 0 elsewhere
    assert relative_improvement(cells, "MR", "mean_of_test_cell_ratios") == pytest.approx(
        100 * (6 / 50 + 6 / 80) / 6
    )


def test_vs_paper_sets_the_corpus_sizes_beside_the_run():
    data = load_published()
    sizes = {"iemo": {"utterances": 10039}, "improv": {"utterances": 8400}}
    frame = vs_paper_frame(data, Reproduction(LOSS, {"paper": metrics(1.0, 0.01)}, FORMATS, sizes))
    got = frame[frame["source"] == "Sec. 4.1"].set_index("corpus")
    assert list(got.index) == ["iemo", "improv"]
    assert got.loc["iemo", "published"] == 10039 and got.loc["iemo", "difference"] == 0
    assert got.loc["improv", "published"] == 8438 and got.loc["improv", "difference"] == -38
    summary = vs_paper_summary(frame).set_index("source")
    assert summary.loc["Sec. 4.1", "equal_as_printed"] == 1
    assert summary.loc["Sec. 4.1", "summary"].startswith(
        "Sec. 4.1 (paper): equal as printed in 1 of 2"
    )


def test_vs_paper_summary_counts_the_cells_of_each_table():
    data = load_published()
    both = {"paper": metrics(1.0, 0.01), "authors": metrics(2.0, 0.5)}
    frame = vs_paper_frame(data, Reproduction(LOSS, both, FORMATS))
    summary = vs_paper_summary(frame).set_index(["protocol", "source"])
    # two corpora of the paper in the run: 12 Table 3 cells + its Average row (6); F1 and KLD
    # cells of both corpora (the hand-made metrics have no JSD)
    assert summary.loc[("paper", "Table 3"), "cells"] == 18
    assert summary.loc[("paper", "Table 4"), "cells"] == 24
    assert ("paper", "Table 6") not in summary.index
    f1 = frame[(frame["protocol"] == "paper") & (frame["source"] == "Table 4")]
    inside = ((f1["low"] <= f1["published"]) & (f1["published"] <= f1["high"])).sum()
    row = summary.loc[("paper", "Table 4")]
    assert row["published_in_reproduced_ci"] == inside
    assert row["mean_abs_difference"] == pytest.approx(f1["difference"].abs().mean())
    assert row["summary"].startswith(
        f"Table 4 (paper): published value inside the reproduced CI in {inside} of 24 cells"
    )
    assert ("authors", "Table 5") in summary.index
