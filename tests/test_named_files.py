"""serrules.base.named_files: a rule's nested input structure goes to its script through params
(names) and the job's named inputs (paths), and comes back whole."""

from __future__ import annotations

import pytest
from snakemake.iocontainers import InputFiles

from serrules.base.named_files import flat_inputs, input_names, resolve_names

TREE = {
    "msp-podcast": {
        "utterances": "results/msp-podcast/utterances.parquet",
        "labels": {"MR": "results/msp-podcast/labels_MR.parquet"},
        "predictions": {"paper": {"AR": ["a/fold1.parquet", "a/fold2.parquet"]}},
    },
    "iemocap": {"predictions": {"paper": {"AR": []}}},
}


def test_names_label_each_leaf_and_resolve_back_to_the_tree():
    flat = flat_inputs(TREE)
    assert flat == {
        "msp-podcast.utterances": "results/msp-podcast/utterances.parquet",
        "msp-podcast.labels.MR": "results/msp-podcast/labels_MR.parquet",
        "msp-podcast.predictions.paper.AR": ["a/fold1.parquet", "a/fold2.parquet"],
        "iemocap.predictions.paper.AR": [],
    }
    names = input_names(TREE)
    assert names["msp-podcast"]["predictions"]["paper"]["AR"] == "msp-podcast.predictions.paper.AR"
    assert resolve_names(names, flat) == TREE


def job_inputs(flat: dict) -> InputFiles:
    """Named inputs laid out as Snakemake lays out a job's (a list input: a named range)."""
    inputs = InputFiles()
    for name, item in flat.items():
        start = len(inputs)
        if isinstance(item, str):
            inputs.append(item)
            inputs._set_name(name, start)
        else:
            inputs.extend(item)
            inputs._set_name(name, start, len(inputs))
    return inputs


def test_resolves_from_a_snakemake_job_inputs():
    """The way the script reads them: snakemake.input (named items, named ranges for lists)."""
    inputs = job_inputs(flat_inputs(TREE))
    resolved = resolve_names(input_names(TREE), inputs)
    assert resolved == TREE
    leaf = resolved["msp-podcast"]["utterances"]
    assert type(leaf) is str


def test_clashing_names_and_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="two entries are named 'a.b.c'"):
        flat_inputs({"a.b": {"c": "x"}, "a": {"b.c": "y"}})
    with pytest.raises(ValueError, match="'a.b' holds int"):
        flat_inputs({"a": {"b": 3}})
    with pytest.raises(ValueError, match="empty mapping at 'a'"):
        input_names({"a": {}})
    with pytest.raises(KeyError, match="no input named 'a.b'"):
        resolve_names({"a": {"b": "a.b"}}, {})
