"""The paper's printed values as data, the vs_paper side-by-side and the claims' verdicts, on
hand-made label-loss and metrics frames (and a test-only published file for Tables 4-6)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from serrules.reporting.paper_comparison import (
    Reproduction,
    claims_frame,
    load_published,
    relative_improvement,
    table_cells,
    vs_paper_display,
    vs_paper_frame,
)

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
    """macro_f1 / kld rows for two corpora: AR_train = base + ar_gain (kld: base - ar_gain)."""
    rows = []
    for corpus, base in (("iemo", 50.0), ("improv", 80.0)):
        for test in ("MR", "PR", "AR"):
            for train in ("MR", "PR", "AR"):
                for metric, sign in (("macro_f1", 1.0), ("kld", -0.01)):
                    value = base + (ar_gain * sign if train == "AR" else 0.0)
                    if metric == "kld":
                        value = 1.0 + (-0.01 * ar_gain if train == "AR" else 0.0)
                    rows.append(
                        {
                            "corpus": corpus,
                            "train_rule": train,
                            "test_rule": test,
                            "metric": metric,
                            "value": value,
                            "low": value - 2,
                            "high": value + 2,
                            "n_utterances": 10,
                            "p_value_vs_AR": math.nan if train == "AR" else p,
                        }
                    )
    return pd.DataFrame(rows)


def test_shipped_file_holds_table3_and_its_average_row():
    data = load_published()
    t3 = [c for c in data["cells"] if c["table"] == 3]
    assert len(t3) == 30  # 4 corpora + Average, 3 rules, 2 measures
    # the printed Average row is the mean of the printed corpus rows (to the printed decimals)
    for rule in ("MR", "PR", "AR"):
        for measure in ("data_loss", "rating_loss"):
            rows = [
                c["printed"]
                for c in t3
                if c["rule"] == rule and c["measure"] == measure and c["corpus"] != "Average"
            ]
            avg = next(
                c["printed"]
                for c in t3
                if c["rule"] == rule and c["measure"] == measure and c["corpus"] == "Average"
            )
            assert abs(np.mean(rows) - avg) <= 0.005 + 1e-9
    ids = {c["id"] for c in data["claims"]}
    assert {"5.2-ratio-MR", "5.2-ratio-PR", "5.1-AR-rating"} <= ids


def test_vs_paper_table3_rows_and_average():
    data = load_published()
    frame = vs_paper_frame(data, Reproduction(LOSS, {"paper": metrics(1.0, 0.01)}, FORMATS))
    row = frame[(frame["corpus"] == "improv") & (frame["row"] == "MR")]
    got = row.set_index("column")
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
    one = frame[(frame["protocol"] == "paper") & (frame["table"] == 4)].set_index("column")
    assert one.loc["AR_test", "published"] == pytest.approx(50.5)
    assert one.loc["AR_test", "reproduced"] == pytest.approx(51.0)
    assert one.loc["AR_test", "low"] == pytest.approx(49.0)
    assert bool(one.loc["AR_test", "published_in_reproduced_ci"]) is True
    assert bool(one.loc["AR_test", "reproduced_in_published_ci"]) is True
    assert one.loc["Average", "reproduced"] == pytest.approx(80.0)  # mean of the 3 test columns
    assert one.loc["Average", "difference"] == pytest.approx(-10.0)
    assert pd.isna(one.loc["Average", "reproduced_in_published_ci"])  # no printed bounds
    kld = frame[(frame["protocol"] == "authors") & (frame["table"] == 5)].iloc[0]
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
                    c["printed"]
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


def test_relative_improvement_is_the_ratio_of_the_means_over_the_test_cells():
    cells = table_cells(metrics(0.0, 0.5))
    cells.loc[(cells["train_rule"] == "AR") & (cells["column"] == "AR_test"), "value"] += 6.0
    # AR mean over 6 test cells = 65 + 12/6 = 67 (the Average column is not counted twice)
    assert relative_improvement(cells, "MR") == pytest.approx(100 * (67 / 65 - 1))
