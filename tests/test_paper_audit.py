"""The paper against itself: the audit's checks on the real printed numbers (hand-computed
expectations for a few rows, the exact list of what fails), on planted inconsistencies, and the
relative-improvement search on the printed Table 4."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest

from serrules.reporting.paper_audit import (
    CHECKS,
    audit_markdown,
    average_column_rows,
    bold_rows,
    paper_audit_frame,
    project_rows,
    qualitative_rows,
    statement_rows,
    table3_average_rows,
    value_in_ci_rows,
    write_paper_audit,
)
from serrules.reporting.published import load_published, printed_cells
from serrules.reporting.relative_improvement import (
    closest_definition,
    printed_table4,
    ratio_search,
    relative_improvement,
)

#: The paper preset's settings as the default config resolves them (what the rule passes).
SETTINGS = {
    "training": {"beta": 0.99, "lr": 0.0001, "batch_size": 32, "epochs": 50, "optimizer": "adamw"},
    "evaluation": {"alpha": 5},
    "model": {"keep_layers": 12, "head_hidden": 1024},
}
CLASS_COUNTS = {"IEMOCAP": 9, "MSP-IMPROV": 4, "MSP-PODCAST": 8, "BIIC-PODCAST": 8}


def fake_counts(n_classes: int) -> dict[str, int]:
    """Parameter counts shaped like the model's (docs/training.md), without building it."""
    head = 2_099_200 + 1_025 * n_classes
    return {"pruned_plus_head": 164_284_032 + head, "full_plus_head": 315_438_720 + head}


def by_id(rows: list[dict]) -> dict[str, dict]:
    return {row["id"]: row for row in rows}


@pytest.fixture(scope="module")
def published() -> dict:
    return load_published()


def test_average_column_hand_computed(published):
    rows = by_id(average_column_rows(printed_cells(published)))
    assert len(rows) == 36 * 3  # 3 tables x 4 corpora x 3 rules; value, low, high
    exact = rows["T4/IEMOCAP/MR_train/Average/printed"]  # mean(0.366, 0.365, 0.442) = 0.391
    assert exact["computed"] == pytest.approx(0.391) and exact["verdict"] == "holds"
    assert exact["basis"] == "mean of 0.366, 0.365, 0.442"
    # mean(0.593, 0.588, 0.612) = 0.597667 prints as 0.598, not 0.597: within the rounding
    low = rows["T4/MSP-IMPROV/MR_train/Average/low"]
    assert low["computed"] == pytest.approx(0.5976667, abs=1e-7)
    assert low["difference"] == pytest.approx(0.0006667, abs=1e-7)
    assert low["tolerance"] == pytest.approx(0.001)  # half a unit of the mean and of the cells
    assert low["verdict"] == "holds" and "which rounds to 0.598" in low["basis"]
    assert all(r["verdict"] == "holds" for r in rows.values())


def test_value_in_ci_and_table3_average_hold_on_the_printed_numbers(published):
    cells = printed_cells(published)
    assert {r["verdict"] for r in value_in_ci_rows(cells)} == {"holds"}
    rows = by_id(table3_average_rows(published))
    mr = rows["T3/Average/MR/data_loss"]  # (31.37 + 9.18 + 44.81 + 20.25) / 4 = 26.4025
    assert mr["computed"] == pytest.approx(26.4025) and mr["verdict"] == "holds"
    assert len(rows) == 6 and all(r["verdict"] == "holds" for r in rows.values())


def test_bold_marks_of_the_printed_tables(published):
    rows = by_id(bold_rows(printed_cells(published)))
    assert len(rows) == 48
    biic = rows["T4/BIIC-PODCAST/Average"]  # AR's value bold, MR's upper bound 0.280 bold
    assert biic["verdict"] == "holds"
    assert "bold upper bound: MR; best upper bound: MR" in biic["basis"]
    kld = rows["T5/IEMOCAP/AR_test"]
    assert kld["verdict"] == "holds" and "best value: AR (lowest)" in kld["basis"]


def test_statements_hand_computed(published):
    rows = by_id(statement_rows(published))
    # Sec. 3: AR keeps 41.45 points more ratings than MR; Table 3 gives 45.25 - 3.75 = 41.50
    ratings = rows["S3-AR-vs-MR/rating_loss"]
    assert ratings["computed"] == pytest.approx(41.50)
    assert ratings["difference"] == pytest.approx(0.05)
    assert ratings["tolerance"] == pytest.approx(0.015) and ratings["verdict"] == "fails"
    assert rows["S3-AR-vs-PR/rating_loss"]["verdict"] == "holds"  # 38.03 - 3.75 = 34.28
    assert rows["S4.1-PODCAST-split/test"]["computed"] == 30647 + 14815
    assert rows["S4.1-PODCAST-split/test"]["verdict"] == "holds"
    ci = rows["S4.5-CI/central"]  # 2.75 is not 100 - 97.5
    assert (ci["printed"], ci["computed"], ci["verdict"]) == ("2.75", 2.5, "fails")
    assert rows["S7-relative/MR"]["verdict"] == "holds"


def test_relative_improvement_search_on_the_printed_table4(published):
    cells = printed_table4(published)
    # AR_train's twelve test cells sum to 5.068, MR_train's to 4.822 (the printed Table 4)
    assert relative_improvement(cells, "MR", "test_cell_means") == pytest.approx(
        100 * (5.068 / 4.822 - 1)
    )
    # Average column: (0.421 + 0.638 + 0.359 + 0.271) / (0.391 + 0.607 + 0.344 + 0.266)
    assert relative_improvement(cells, "MR", "average_column_means") == pytest.approx(
        100 * (1.689 / 1.608 - 1)
    )
    search = ratio_search(published).set_index(["versus", "definition"])
    assert closest_definition(search.reset_index()) == "test_cell_means"
    best = search.loc[("MR", "test_cell_means")]
    assert best["residual"] == pytest.approx(5.102 - 5.13, abs=1e-3)
    assert best["range_low"] < 5.13 < best["range_high"] and best["consistent"]
    # the mean of the per-cell ratios cannot give 5.13, whatever the unrounded cells were
    worst = search.loc[("MR", "mean_of_test_cell_ratios")]
    assert worst["range_high"] < 5.125 and not worst["consistent"]


def test_qualitative_claims_hold_on_the_printed_tables(published):
    rows = by_id(qualitative_rows(printed_cells(published)))
    assert len(rows) == 4 + 1 + 3 + 8
    assert all(r["verdict"] == "holds" for r in rows.values())
    assert rows["S5.2-best/mean"]["computed"] == pytest.approx((0.421 + 0.638 + 0.359 + 0.271) / 4)
    # Average column: MSP-PODCAST's AR 0.359 (0.356, 0.362) is apart from MR's (0.341, 0.347)
    # and PR's (0.347, 0.352); BIIC-PODCAST's AR 0.271 (0.264, 0.278) overlaps both
    assert "apart from AR_train's in 2 of 2" in rows["S5.2-best/MSP-PODCAST"]["basis"]
    assert "apart from AR_train's in 0 of 2" in rows["S5.2-best/BIIC-PODCAST"]["basis"]


def test_project_rows(published):
    rows = by_id(
        project_rows(
            published,
            class_counts=CLASS_COUNTS,
            settings=SETTINGS,
            parameter_counts=fake_counts,
        )
    )
    assert {k for k, r in rows.items() if r["verdict"] == "fails"} == {
        "S4.5-CI/lower",  # the project's 95% interval has 2.5, not 2.75
        "S4.6-params/pruned_plus_head",  # about 166M, not 317M
    }
    assert rows["S4.6-params/full_plus_head"]["computed"] == pytest.approx(317.54)
    assert rows["S4.2-classes/IEMOCAP"]["computed"] == 9
    authors = copy.deepcopy(SETTINGS)
    authors["training"]["beta"] = "(N-1)/N"
    rows = by_id(
        project_rows(
            published,
            class_counts={**CLASS_COUNTS, "IEMOCAP": 10},
            settings=authors,
            parameter_counts=fake_counts,
        )
    )
    assert rows["S4.4-beta"]["verdict"] == "fails"
    assert rows["S4.2-classes/IEMOCAP"]["verdict"] == "fails"


def test_planted_inconsistencies_fail(published):
    """Each kind of inconsistency, planted in a copy of the printed numbers, fails its check."""
    planted = copy.deepcopy(published)
    cells = {
        (
            c["table"],
            c["corpus"],
            c.get("train_rule", c.get("rule")),
            c.get("column", c.get("measure")),
        ): c
        for c in planted["cells"]
    }
    cells[(4, "IEMOCAP", "MR", "Average")]["printed"] = "0.395"  # not the mean of its row
    cells[(5, "MSP-IMPROV", "PR", "AR_test")]["printed"] = "0.720"  # outside (0.679, 0.713)
    cells[(6, "BIIC-PODCAST", "MR", "PR_test")]["bold"] = "value"  # not the lowest JSD
    cells[(3, "Average", "PR", "rating_loss")]["printed"] = "38.10"  # not the mean of 4 rows
    statement = next(s for s in planted["statements"] if s["id"] == "S7-relative")
    statement["numbers"] = "5.13; 5.85"  # the conclusion no longer repeats Sec. 5.2
    frame = paper_audit_frame(
        planted, class_counts=CLASS_COUNTS, settings=SETTINGS, parameter_counts=fake_counts
    ).set_index("id")
    for id_ in (
        "T4/IEMOCAP/MR_train/Average/printed",
        "T5/MSP-IMPROV/PR_train/AR_test",
        "T6/BIIC-PODCAST/PR_test",
        "T3/Average/PR/rating_loss",
        "S7-relative/PR",
    ):
        assert frame.loc[id_, "verdict"] == "fails", id_
    # the planted MR Average 0.395 is still below AR_train's 0.421
    assert frame.loc["S5.2-best/IEMOCAP", "verdict"] == "holds"


def test_the_real_audit_fails_exactly_where_the_paper_disagrees_with_itself(published):
    frame = paper_audit_frame(
        published, class_counts=CLASS_COUNTS, settings=SETTINGS, parameter_counts=fake_counts
    )
    assert list(dict.fromkeys(frame["check"])) == list(CHECKS)
    counts = frame.groupby("check").size().to_dict()
    assert counts == {
        "average_column": 108,
        "value_in_ci": 144,
        "table3_average": 6,
        "bold": 48,
        "statement": 15,
        "relative_improvement": 10,
        "qualitative": 16,
        "project": 12,
    }
    assert set(frame["verdict"]) == {"holds", "fails"}
    assert sorted(frame.loc[frame["verdict"] == "fails", "id"]) == [
        "S3-AR-vs-MR/rating_loss",
        "S4.5-CI/central",
        "S4.5-CI/lower",
        "S4.6-params/pruned_plus_head",
        "S5.2-relative/MR/mean_of_corpus_average_ratios",
        "S5.2-relative/MR/mean_of_test_cell_ratios",
    ]
    md = audit_markdown(frame, published)
    assert md.startswith("# The paper against itself")
    assert "| statement |" in md and "S4.1-IEMOCAP-size" in md  # left to a run


def test_write_paper_audit_builds_the_model_counts(tmp_path: Path):
    """The written audit: the parameter count of the model as the project builds it (meta
    device, no weights), the class counts of the format records."""
    frame = write_paper_audit(csv=tmp_path / "a.csv", md=tmp_path / "a.md", settings=SETTINGS)
    rows = frame.set_index("id")
    assert rows.loc["S4.6-params/full_plus_head", "computed"] == pytest.approx(317.54)
    assert rows.loc["S4.6-params/pruned_plus_head", "computed"] == pytest.approx(166.39)
    assert rows.loc["S4.2-classes/MSP-IMPROV", "verdict"] == "holds"
    back = pd.read_csv(tmp_path / "a.csv")
    assert len(back) == len(frame) and list(back.columns) == list(frame.columns)
    assert (tmp_path / "a.md").read_text().count("| fails |") >= 6


def test_the_docs_state_the_ratio_search_as_computed(published):
    """docs/paper_comparison.md's table of definitions is the search's output, rounded."""
    docs = (Path(__file__).resolve().parents[1] / "docs" / "paper_comparison.md").read_text()
    lines = [line for line in docs.splitlines() if line.startswith(("| MR | ", "| PR | "))]
    search = ratio_search(published)
    assert len(lines) == len(search)
    for line, row in zip(lines, search.itertuples(index=False), strict=True):
        want = (
            f"| {row.versus} | {row.text} | {row.on_printed_table:.2f} | {row.residual:+.2f} | "
            f"{row.range_low:.2f} to {row.range_high:.2f} | {'yes' if row.consistent else 'no'} |"
        )
        assert line == want
