"""MSP-PODCAST 1.11 and BIIC-PODCAST 1.01 (``Labels/`` folder of the release).

* ``labels_consensus.csv`` (v1.8 and older: ``labels_concensus.csv``), columns read by name from
  the header row: ``FileName``, ``SpkrID``, ``Gender``, ``Split_Set`` (others ignored). Gives
  speaker, gender (``Female``/``Male`` -> F/M, ``Unknown`` kept) and the official split
  (``Validation`` in older releases is read as ``Development``).
* Per-worker labels from ``labels_detailed.csv`` (``FileName,EmoDetail``, EmoDetail =
  ``"WORKER<id>; <Primary>; <secondaries>; A:..; V:..; D:..;"``, secondaries may be absent) or,
  when no CSV is present, ``labels_detailed.json``
  (``{file: {worker: {"EmoClass_Major": ..., "EmoClass_Second": "a,b", ...}}}``).
* The vote is the PRIMARY emotion; ``Other``/``Other-<text>`` is other. A repeated
  (file, worker) pair keeps its first row, later ones get status ``duplicate_rater``. A file that
  has detailed labels but no consensus row is dropped with one utterance-level exclusion
  ``not_in_consensus`` (its ratings are not in ``ratings``).
* BIIC-PODCAST ships the same layout as far as public material shows (names
  ``BIIC-PODCAST_0001_0016_0001.wav``, split ``Test``); since columns are read by header name
  the same parser serves both formats.

Everything is vectorised with pandas string operations (the CSV has about a million rows).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from serrules.base.errors import AnnotationError
from serrules.corpora.native_files import PODCAST_CONSENSUS_FILES, PODCAST_DETAILED_FILES
from serrules.corpora.parsing import (
    blank_rows,
    check_safe_names,
    check_unique,
    classified_ratings,
    find_first,
    line_sources,
    read_csv_table,
    relative,
    split_fields,
    unsafe_name,
    unsafe_name_message,
)
from serrules.corpora.records import (
    DUPLICATE_RATER,
    EVALUATOR,
    NOT_IN_CONSENSUS,
    ParsedCorpus,
    RatingRows,
    exclusions_frame,
    isin_strings,
    utterances_frame,
)
from serrules.corpora.text import read_text

if TYPE_CHECKING:
    from serrules.corpora.formats import CorpusFormat


#: Split names as written in the releases; ``Validation`` (older releases) -> ``Development``.
SPLITS = {
    "Train": "Train",
    "Development": "Development",
    "Validation": "Development",
    "Test1": "Test1",
    "Test2": "Test2",
    "Test": "Test",
}
GENDERS = {"female": "F", "f": "F", "male": "M", "m": "M", "unknown": "Unknown"}


def _first_bad(mask: pd.Series | np.ndarray, lines: pd.Series) -> int | None:
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return None
    return int(lines.iloc[int(np.flatnonzero(mask)[0])])


def read_consensus(root: Path) -> pd.DataFrame:
    """The consensus file as ``utterance_id, speaker, gender, split, _line`` (blank lines gone)."""
    path = find_first(
        root, PODCAST_CONSENSUS_FILES, "podcast consensus labels (speaker, gender, split)"
    )
    df = read_csv_table(path, ["FileName", "SpkrID", "Gender", "Split_Set"])
    df = df.loc[~blank_rows(df)]
    for col in ("FileName", "SpkrID", "Split_Set"):
        bad = _first_bad(df[col].str.strip() == "", df["_line"])
        if bad is not None:
            raise AnnotationError(path, bad, f"empty {col}")
    names = df["FileName"].str.strip()
    check_safe_names(names, df["_line"], path, "FileName")
    check_unique(names, df["_line"], path, "FileName")
    gender = df["Gender"].str.strip().str.lower().map(GENDERS)
    bad = _first_bad(gender.isna(), df["_line"])
    if bad is not None:
        raise AnnotationError(path, bad, "Gender must be Female, Male or Unknown")
    split = df["Split_Set"].str.strip().map(SPLITS)
    bad = _first_bad(split.isna(), df["_line"])
    if bad is not None:
        raise AnnotationError(
            path, bad, f"Split_Set must be one of {sorted(SPLITS)} (Validation = Development)"
        )
    return pd.DataFrame(
        {
            "utterance_id": names,
            "speaker": df["SpkrID"].str.strip(),
            "gender": gender.astype("str"),
            "split": split.astype("str"),
            "_line": df["_line"],
        }
    )


def _detailed_csv(path: Path, rel: str) -> pd.DataFrame:
    df = read_csv_table(path, ["FileName", "EmoDetail"])
    df = df.loc[~blank_rows(df)]
    worker, primary = split_fields(df["EmoDetail"], 2)
    names = df["FileName"].str.strip()
    bad = (
        (worker == "")
        | worker.str.contains(":", regex=False)
        | (primary == "")
        | primary.str.match(r"^[AVD]\s*:")
        | (names == "")
    )
    line = _first_bad(bad, df["_line"])
    if line is None:
        check_safe_names(names, df["_line"], path, "FileName")
    if line is not None:
        raise AnnotationError(
            path,
            line,
            "EmoDetail does not parse; expected 'WORKER<id>; <Primary>; <secondaries>; "
            "A:..; V:..; D:..;' and a FileName",
        )
    return pd.DataFrame(
        {
            "utterance_id": names,
            "rater_id": worker,
            "raw_label": primary,
            "source": line_sources(rel, df["_line"]).set_axis(df.index),
        }
    ).reset_index(drop=True)


class _Object(list):
    """A JSON object as its ``(key, value)`` pairs in file order (duplicate keys kept)."""


def _kind(value: object) -> str:
    if isinstance(value, _Object):
        return "an object"
    if isinstance(value, list):
        return "an array" if value else "an empty array"
    return "null" if value is None else f"a {type(value).__name__} ({value!r:.40})"


def _detailed_json(path: Path, rel: str) -> pd.DataFrame:
    """``{file: {worker: {"EmoClass_Major": ..., ...}}}``; any other nesting (arrays, lists of
    records, values that are not objects) is an :class:`AnnotationError` naming the key."""
    try:
        # keep every key pair in order: duplicate workers stay visible (json.load keeps the last)
        doc = json.loads(read_text(path), object_pairs_hook=_Object)
    except json.JSONDecodeError as exc:
        raise AnnotationError(path, exc.lineno, f"invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise AnnotationError(path, None, "JSON nested too deeply") from None
    layout = 'expected {"<file>.wav": {"<worker>": {"EmoClass_Major": ..., ...}}}'
    if not isinstance(doc, _Object):
        raise AnnotationError(path, None, f"top level is {_kind(doc)}; {layout}")
    if not doc:
        raise AnnotationError(path, None, f"empty object: no files (truncated?); {layout}")
    utt, rater, raw, src = [], [], [], []
    for name, workers in doc:
        if not isinstance(workers, _Object):
            raise AnnotationError(
                path,
                None,
                f"key {name!r}: value is {_kind(workers)}, expected an object of workers",
            )
        for worker, fields in workers:
            if not isinstance(fields, _Object):
                raise AnnotationError(
                    path,
                    None,
                    f"key '{name}/{worker}': value is {_kind(fields)}, expected an object with "
                    "EmoClass_Major",
                )
            major = dict(reversed(fields)).get("EmoClass_Major")  # first occurrence wins
            if not isinstance(major, str) or not major.strip():
                raise AnnotationError(
                    path, None, f"key '{name}/{worker}': missing or empty EmoClass_Major"
                )
            if not worker.strip():
                raise AnnotationError(path, None, f"key {name!r}: empty worker id")
            if unsafe_name(name.strip()):
                raise AnnotationError(path, None, unsafe_name_message(name, "file name"))
            utt.append(name.strip())
            rater.append(worker.strip())
            raw.append(major.strip())
            src.append(f"{rel}:{name}/{worker}")
    return pd.DataFrame(
        {"utterance_id": utt, "rater_id": rater, "raw_label": raw, "source": src}, dtype="str"
    )


def read_detailed(root: Path) -> tuple[Path, pd.DataFrame]:
    """Per-worker primary labels (``utterance_id, rater_id, raw_label, source``), from
    ``labels_detailed.csv`` when present, else ``labels_detailed.json``."""
    path = find_first(root, PODCAST_DETAILED_FILES, "podcast per-worker labels")
    rel = relative(root, path)
    frame = _detailed_json(path, rel) if path.suffix == ".json" else _detailed_csv(path, rel)
    return path, frame


def parse_podcast(
    root: Path, *, fmt: CorpusFormat, unknown_labels: str, include_self_evaluations: bool = False
) -> ParsedCorpus:
    """Parse an MSP-PODCAST or BIIC-PODCAST release rooted at ``root`` (absolute; ``fmt``'s
    record gives the vocabulary; ``include_self_evaluations`` has no effect: the corpora have no
    self-evaluations); called by :func:`serrules.corpora.parse_corpus`."""
    consensus = read_consensus(root)
    _, det = read_detailed(root)

    # every label is classified (an unknown one is an error even for an orphan row)
    duplicate = det.duplicated(["utterance_id", "rater_id"], keep="first").to_numpy()
    rows = RatingRows(
        utterance_id=det["utterance_id"],
        rater_id=det["rater_id"],
        rater_kind=EVALUATOR,
        raw_label=det["raw_label"],
        source=det["source"],
    )
    rated = classified_ratings(
        rows, fmt.vocabulary, root, unknown_labels, exclude=[(duplicate, DUPLICATE_RATER)]
    )
    known = isin_strings(det["utterance_id"], consensus["utterance_id"])
    orphans = det.loc[~known].drop_duplicates("utterance_id", keep="first")
    exclusions = exclusions_frame(
        utterance_id=orphans["utterance_id"],
        rater_id=None,
        reason=NOT_IN_CONSENSUS,
        source=orphans["source"],
    )
    ratings = rated.loc[known].reset_index(drop=True)
    audio_dir = str(root / "Audios") + "/"
    utterances = utterances_frame(
        utterance_id=consensus["utterance_id"],
        speaker=consensus["speaker"],
        gender=consensus["gender"],
        session=None,
        split=consensus["split"],
        audio_path=audio_dir + consensus["utterance_id"],
    )
    return ParsedCorpus(ratings, utterances, exclusions)
