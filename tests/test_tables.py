"""The table contracts (serrules.base.tables): one check, one error type, messages that name the
file, the column and the offending ids."""

from __future__ import annotations

import pandas as pd
import pytest

from serrules.base.errors import PredictionError, SerrulesError, TableError
from serrules.base.tables import TABLES, check_references, check_table, read_table

CLASSES = ("anger", "sadness")


def _labels(**over) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "utterance_id": ["u1", "u2", "u3"],
            "label": ["anger", None, "sadness"],
            "y_anger": [1.0, 0.5, 0.0],
            "y_sadness": [0.0, 0.5, 1.0],
            "t_anger": pd.array([1, 1, 0], dtype="int8"),
            "t_sadness": pd.array([0, 1, 1], dtype="int8"),
        }
    )
    for k, v in over.items():
        frame[k] = v
    return frame


def test_a_table_that_keeps_its_contract_passes_unchanged():
    frame = _labels()
    assert check_table(frame, "labels", classes=CLASSES) is frame


def test_missing_per_class_column_is_named_with_the_file():
    frame = _labels().drop(columns="t_sadness")
    with pytest.raises(
        TableError, match=r"^labels_AR.parquet: labels table lacks column\(s\) t_sadness$"
    ):
        check_table(frame, "labels", classes=CLASSES, source="labels_AR.parquet")


def test_repeated_key_names_the_ids_and_counts_them():
    frame = _labels(utterance_id=["u1", "u1", "u2"])
    with pytest.raises(TableError, match=r"1 repeated utterance_id value\(s\): u1$"):
        check_table(frame, "labels", classes=CLASSES)


def test_composite_key_and_null_key():
    folds = pd.DataFrame(
        {"fold": [1, 1, 2], "utterance_id": ["a", "a", "a"], "part": ["train"] * 3}
    )
    with pytest.raises(TableError, match=r"repeated fold/utterance_id value\(s\): \(1, 'a'\)"):
        check_table(folds, "folds")
    folds = pd.DataFrame({"fold": [1, 2], "utterance_id": ["a", None], "part": ["test"] * 2})
    with pytest.raises(TableError, match=r"column utterance_id has 1 null value\(s\) \(rows 1\)"):
        check_table(folds, "folds")


def test_wrong_kind_is_named():
    frame = _labels(t_anger=["1", "1", "0"])
    with pytest.raises(TableError, match="column t_anger holds (object|str) values, expected int"):
        check_table(frame, "labels", classes=CLASSES)


def test_a_subset_of_columns_and_the_callers_error_type():
    audio = pd.DataFrame({"utterance_id": ["a", "a"], "status": ["ok", "ok"]})
    with pytest.raises(PredictionError, match="audio_index.parquet: audio_index table: 1 repeated"):
        check_table(
            audio,
            "audio_index",
            columns=["status"],
            source="audio_index.parquet",
            error=PredictionError,
        )
    assert issubclass(PredictionError, TableError) and issubclass(TableError, SerrulesError)


def test_references_name_the_missing_ids():
    utts = pd.DataFrame({"utterance_id": ["u1", "u2"]})
    labels = _labels()
    with pytest.raises(
        TableError, match=r"1 utterance_id value\(s\) not in utterances.parquet \(utterances\): u3"
    ):
        check_references(labels, "labels", utts, "utterances", parent_source="utterances.parquet")


def test_read_table_names_an_unreadable_file(tmp_path):
    bad = tmp_path / "folds.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(TableError, match=f"^{bad}: cannot read the folds table"):
        read_table(bad, "folds")
    with pytest.raises(TableError, match="table not found"):
        read_table(tmp_path / "absent.parquet", "folds")


def test_read_table_reads_only_the_columns_asked_for(tmp_path):
    path = tmp_path / "labels.parquet"
    _labels().to_parquet(path)
    frame = read_table(path, "labels", columns=["label"])
    assert list(frame.columns) == ["utterance_id", "label"]


def test_every_contract_has_typed_columns_and_a_key_made_of_its_columns():
    for spec in TABLES.values():
        names = {c.name for c in spec.columns}
        assert set(spec.key) <= names, spec.name
        for col, table in spec.references:
            assert col in names and table in TABLES, spec.name


def test_a_contract_file_whose_key_is_not_a_column_is_refused(tmp_path):
    from serrules.base.tables import load_contracts

    bad = tmp_path / "tables.yaml"
    bad.write_text("tables:\n  t:\n    columns: [a:int!]\n    key: [b]\n")
    with pytest.raises(ValueError, match=r"table t: key \['b'\]"):
        load_contracts(bad)
    composite = tmp_path / "composite.yaml"
    composite.write_text(
        "tables:\n  p:\n    columns: [a:int!, b:int!]\n    key: [a, b]\n"
        "  c:\n    columns: [a:int!]\n    references: {a: p}\n"
    )
    with pytest.raises(ValueError, match=r"table c: key \[\] / references \['p'\]"):
        load_contracts(composite)
    good = tmp_path / "good.yaml"
    good.write_text(
        "shared:\n  m: &m [x:str, y:number]\n"
        "tables:\n  t:\n    columns: [a:int!, *m]\n    key: [a]\n    per_class: [p_:number]\n"
    )
    spec = load_contracts(good)["t"]
    assert [(c.name, c.kind, c.nullable) for c in spec.columns] == [
        ("a", "int", False),
        ("x", "str", True),
        ("y", "number", True),
    ]
    assert spec.column_names(["u", "v"]) == ["a", "x", "y", "p_u", "p_v"]


def test_read_table_without_check_reads_without_checking_and_names_an_unreadable_file(tmp_path):
    """For callers whose next step checks the frame: read once, check once."""
    path = tmp_path / "labels.parquet"
    frame = _labels(utterance_id=["u1", "u1", "u2"])  # a repeated key: read_table refuses it
    frame.to_parquet(path)
    assert read_table(path, "labels", check=False)["utterance_id"].tolist() == ["u1", "u1", "u2"]
    with pytest.raises(TableError, match="repeated utterance_id"):
        read_table(path, "labels")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 damaged")
    with pytest.raises(PredictionError, match=f"^{bad}: cannot read the audio_index table"):
        read_table(bad, "audio_index", columns=("status",), error=PredictionError, check=False)
