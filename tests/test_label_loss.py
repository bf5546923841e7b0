"""Data / rating loss hand-computed on a small example; Table 3 and Fig. 1 files."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from serrules.base.classes import prefixed
from serrules.corpora.formats import FORMATS
from serrules.labels.label_loss import label_loss
from serrules.reporting.table3_fig1 import fig1_figure, plot_fig1, write_table3

CLASSES = FORMATS["msp-improv"].classes  # anger, happiness, sadness, neutral


def utterances(rows: dict[str, tuple[list[int], int]]) -> pd.DataFrame:
    """utterance -> (votes per class, n_other)."""
    votes = np.array([v for v, _ in rows.values()], dtype=np.int32)
    df = pd.DataFrame(votes, columns=prefixed("votes_", CLASSES))
    df.insert(0, "utterance_id", list(rows))
    df["n_other"] = np.array([o for _, o in rows.values()], dtype=np.int32)
    return df


EXAMPLE = {
    "u1": ([3, 0, 2, 0], 0),  # MR, PR keep anger (3 votes used); AR all 5
    "u2": ([2, 0, 2, 1], 1),  # tie: MR, PR drop; AR uses 5 of 6 (other lost)
    "u3": ([1, 1, 1, 2], 0),  # PR keeps neutral (2 used); MR drops
    "u4": ([0, 2, 0, 0], 0),  # all keep, 2 used
    "u5": ([0, 0, 0, 0], 2),  # only other: outside the AR set, in the no-valid-vote column
    "u6": ([0, 0, 1, 0], 0),  # single vote
    "u7": ([0, 0, 0, 1], 0),
    "u8": ([0, 0, 0, 0], 0),  # no vote at all: outside the AR set, in the no-valid-vote column
}


def test_label_loss_hand_computed():
    loss = label_loss(utterances(EXAMPLE), CLASSES, "toy")
    assert list(loss.columns) == [
        "corpus",
        "rule",
        "n_utterances",
        "n_kept",
        "data_loss",
        "n_ratings",
        "n_ratings_used",
        "rating_loss",
        "n_no_valid_vote",
        "n_no_valid_vote_ratings",
    ]
    got = loss.set_index("rule")
    # AR set: 6 utterances with a valid vote (u5, u8 have none), 20 valid-or-other votes
    assert got["n_utterances"].tolist() == [6, 6, 6]
    assert got["n_ratings"].tolist() == [20, 20, 20]
    assert got["n_no_valid_vote"].tolist() == [2, 2, 2]
    assert got["n_no_valid_vote_ratings"].tolist() == [2, 2, 2]  # u5's two "other" votes
    expected = {  # rule: (kept, used)
        "MR": (4, 3 + 2 + 1 + 1),
        "PR": (5, 3 + 2 + 2 + 1 + 1),
        "AR": (6, 5 + 5 + 5 + 2 + 1 + 1),
    }
    for rule, (kept, used) in expected.items():
        assert got.loc[rule, "n_kept"] == kept
        assert got.loc[rule, "n_ratings_used"] == used
        assert got.loc[rule, "data_loss"] == pytest.approx(float(1 - Fraction(kept, 6)), abs=1e-15)
        assert got.loc[rule, "rating_loss"] == pytest.approx(
            float(1 - Fraction(used, 20)), abs=1e-15
        )
    assert got.loc["AR", "data_loss"] == 0.0  # by construction
    assert (loss["corpus"] == "toy").all()


def test_label_loss_no_loss_when_unanimous():
    loss = label_loss(utterances({"a": ([2, 0, 0, 0], 0), "b": ([0, 0, 3, 0], 0)}), CLASSES, "c")
    assert loss["data_loss"].tolist() == [0.0, 0.0, 0.0]
    assert loss["rating_loss"].tolist() == [0.0, 0.0, 0.0]


def test_label_loss_errors():
    with pytest.raises(ValueError, match="no utterance has a valid vote"):
        label_loss(utterances({"a": ([0, 0, 0, 0], 0)}), CLASSES, "empty")
    with pytest.raises(ValueError, match=r"x: utterances table lacks column\(s\) n_other"):
        label_loss(utterances(EXAMPLE).drop(columns="n_other"), CLASSES, "x")


@pytest.fixture()
def loss_files(tmp_path: Path) -> list[Path]:
    second = {"a": ([4, 0, 0, 0], 0), "b": ([1, 1, 0, 0], 1), "c": ([0, 1, 2, 0], 0)}
    paths = []
    for name, rows in (("toy", EXAMPLE), ("second", second)):
        path = tmp_path / name / "label_loss.parquet"
        path.parent.mkdir()
        label_loss(utterances(rows), CLASSES, name).to_parquet(path)
        paths.append(path)
    return paths


def test_write_table3(loss_files, tmp_path):
    stem = tmp_path / "tables" / "table3_label_loss"
    write_table3(
        loss_files,
        csv=stem.with_suffix(".csv"),
        md=stem.with_suffix(".md"),
        tex=stem.with_suffix(".tex"),
    )
    text = stem.with_suffix(".csv").read_text().splitlines()
    assert text[1].startswith("toy,6,20,2,2,4,") and text[3].startswith("Average,,,,,,")  # integers
    csv = pd.read_csv(stem.with_suffix(".csv"))
    assert csv["corpus"].tolist() == ["toy", "second", "Average"]
    assert csv.loc[0, "n_utterances"] == 6 and csv.loc[0, "n_ratings"] == 20
    assert csv.loc[0, "n_no_valid_vote"] == 2
    assert csv.loc[0, "MR_data_loss"] == pytest.approx(2 / 6, abs=1e-12)  # raw fraction
    assert csv.loc[0, "AR_rating_loss"] == pytest.approx(1 / 20, abs=1e-12)
    # second corpus: a kept by all; b tie (PR/MR drop); c: sadness 2/3 majority
    assert csv.loc[1, ["MR_n_kept", "PR_n_kept", "AR_n_kept"]].tolist() == [2, 2, 3]
    assert csv.loc[1, "MR_rating_loss"] == pytest.approx(1 - 6 / 10, abs=1e-12)
    md = stem.with_suffix(".md").read_text()
    assert "| MR data loss (%) | MR rating loss (%) |" in md
    assert "| toy | 6 | 20 | 2 | 33.33 | 65.00 | 16.67 | 55.00 | 0.00 | 5.00 |" in md
    tex = stem.with_suffix(".tex").read_text()
    assert r"\label{tab:label_loss}" in tex and r"MR data loss (\%)" in tex
    assert "33.33" in tex


def test_write_table3_rejects_duplicate_corpus(loss_files, tmp_path):
    with pytest.raises(ValueError, match="more than one label_loss file: \\['toy'\\]"):
        write_table3(
            [loss_files[0], loss_files[0]],
            csv=tmp_path / "t3.csv",
            md=tmp_path / "t3.md",
            tex=tmp_path / "t3.tex",
        )


def test_fig1_bars_and_files(loss_files, tmp_path):
    loss = pd.concat([pd.read_parquet(p) for p in loss_files], ignore_index=True)
    fig = fig1_figure(loss)
    data_ax, rating_ax = fig.axes[:2]
    heights: dict[str, list[float]] = {}
    for ax in (data_ax, rating_ax):
        for p in ax.patches:
            heights.setdefault(p.get_gid(), []).append(p.get_height())
    # bar order within a rule = corpus order (toy, second), then the average group
    mr = [100 * 4 / 6, 100 * 2 / 3]
    np.testing.assert_allclose(heights["data_loss:MR"], [*mr, np.mean(mr)])
    ar = [100 * 19 / 20, 100 * 9 / 10]
    np.testing.assert_allclose(heights["rating_loss:AR"], [*ar, np.mean(ar)])
    np.testing.assert_allclose(heights["data_loss:AR"], [100.0, 100.0, 100.0])  # AR keeps its set
    labels = [t.get_text() for t in data_ax.texts]
    assert "66.7%" in labels and "83.3%" in labels
    assert [t.get_text() for t in rating_ax.get_xticklabels()] == ["toy", "second", "Average"]

    png, pdf = tmp_path / "fig" / "fig1.png", tmp_path / "fig" / "fig1.pdf"
    plot_fig1(loss_files, png=png, pdf=pdf)
    image = matplotlib.image.imread(png)
    assert image.ndim == 3 and image.shape[0] > 500 and image.shape[1] > 500
    assert pdf.read_bytes()[:5] == b"%PDF-"


#: The paper's printed Table 3 rows (data loss %, rating loss %), and its printed Average row.
PAPER_TABLE3 = {
    "IEMOCAP": {"MR": (31.37, 49.44), "PR": (25.32, 45.70), "AR": (0.00, 3.10)},
    "MSP-IMPROV": {"MR": (9.18, 28.52), "PR": (5.63, 26.41), "AR": (0.00, 5.12)},
    "MSP-PODCAST": {"MR": (44.81, 59.87), "PR": (19.85, 49.24), "AR": (0.00, 6.15)},
    "BIIC-PODCAST": {"MR": (20.25, 43.18), "PR": (0.06, 30.76), "AR": (0.00, 0.61)},
}
PAPER_AVERAGE = {"MR": ("26.40", "45.25"), "PR": ("12.72", "38.03"), "AR": ("0.00", "3.75")}


def test_average_row_of_the_paper_rows_is_the_papers_average_row():
    """Fed the paper's four corpus rows, Table 3's Average row is the paper's printed one
    (12.715 and 3.745 round half up to 12.72 and 3.75, as printed)."""
    from serrules.reporting.table3_fig1 import table3_frames

    rows = [
        {
            "corpus": corpus,
            "rule": rule,
            "n_utterances": 100,
            "n_kept": 0,
            "data_loss": data / 100,
            "n_ratings": 100,
            "n_ratings_used": 0,
            "rating_loss": rating / 100,
            "n_no_valid_vote": 0,
            "n_no_valid_vote_ratings": 0,
        }
        for corpus, by_rule in PAPER_TABLE3.items()
        for rule, (data, rating) in by_rule.items()
    ]
    display, raw = table3_frames(pd.DataFrame(rows))
    avg = display.iloc[-1]
    assert avg["Corpus"] == "Average" and len(display) == 5
    for rule, (data, rating) in PAPER_AVERAGE.items():
        assert (avg[f"{rule} data loss (%)"], avg[f"{rule} rating loss (%)"]) == (data, rating)
    assert raw.iloc[-1]["PR_data_loss"] == pytest.approx(0.12715, abs=1e-12)
    # the per-corpus rows print as the paper prints them
    assert display.iloc[1]["MR data loss (%)"] == "9.18"


def test_average_row_names_its_corpora_in_the_caption(loss_files, tmp_path):
    write_table3(loss_files, csv=tmp_path / "t.csv", md=tmp_path / "t.md", tex=tmp_path / "t.tex")
    md = (tmp_path / "t.md").read_text()
    assert "| Average |" in md and "mean of the 2 corpus rows (toy, second)" in md
    csv = pd.read_csv(tmp_path / "t.csv")
    assert csv["corpus"].tolist() == ["toy", "second", "Average"]
    assert csv.loc[2, "MR_data_loss"] == pytest.approx((2 / 6 + 1 / 3) / 2, abs=1e-12)
