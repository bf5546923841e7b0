"""Ratings-table demo layout: the simulated votes written as the two plain tables of the
corpus's config entry (``tables.ratings`` and ``tables.utterances``, CSV, TSV or Parquet by their
extension, with the entry's column names) and ``audio/<speaker>/<utterance>.wav``; read by
:mod:`serrules.corpora.ratings_table`.

Speakers speak about :data:`SPEAKER_UTTERANCES` utterances each (at least two speakers per fold),
female and male in turn. The utterances table carries what the entry's folds read: split values
(the first split name of each part, speaker-disjoint, :data:`HELD_OUT_SHARE` of the speakers
in dev and in test), fold
numbers (1..k, by speaker) or the speakers alone. Label words are the vocabulary's first word per
class, in upper case for about one vote in ten where the vocabulary ignores case; an "other" vote
is the first "other" word (or the prefix followed by a free text).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path, PurePosixPath

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from serrules.corpora.formats import FOLD_PARTS, CorpusFormat
from serrules.corpora.table_layout import table_kind
from serrules.demo.raters import OTHER_TOKEN_INDEX, DesignedUtterance, OutcomePlan, RaterSetup
from serrules.demo.speech import speaker_base_f0
from serrules.demo.writers import common

#: Utterances per simulated speaker (about).
SPEAKER_UTTERANCES = 6
#: Share of the speakers in the dev part, and in the test part, of a split design (at least one
#: speaker each; the others train).
HELD_OUT_SHARE = 0.2
#: Where the audio goes, under the corpus root.
AUDIO_FOLDER = "audio"


def table_entries(fmt: CorpusFormat) -> tuple[str, ...]:
    """What the writer creates directly under the root: the audio folder and the first path
    component of each table."""
    files = fmt.layout.files if fmt.layout is not None else ()
    return tuple(dict.fromkeys([AUDIO_FOLDER, *(PurePosixPath(f).parts[0] for f in files)]))


def write_ratings_table(
    fmt: CorpusFormat, root: Path, design: list[DesignedUtterance], rng: np.random.Generator
) -> common.WriterResult:
    """The two tables + audio/<speaker>/<utterance>.wav (see the module docstring)."""
    layout, folds = fmt.layout, fmt.folds
    if layout is None:
        raise ValueError(f"{fmt.name}: not a ratings-table record (it has no table layout)")
    cols = layout.columns
    n, k = len(design), folds.n_folds
    n_speakers = max(2 * k, len(FOLD_PARTS), int(np.ceil(n / SPEAKER_UTTERANCES)))
    if n < 3 * n_speakers:
        raise ValueError(
            f"{fmt.name}: {k} folds need at least {3 * n_speakers} demo utterances (two speakers "
            "per fold, three utterances each)"
        )
    speaker_of = common.balanced_groups(n, n_speakers, rng)
    speakers = [f"spk{j + 1:02d}" for j in range(n_speakers)]
    genders = ["F" if j % 2 == 0 else "M" for j in range(n_speakers)]
    f0 = [speaker_base_f0(g, rng) for g in genders]
    ids = [f"utt{i + 1:04d}" for i in range(n)]
    audio = [f"{AUDIO_FOLDER}/{speakers[s]}/{u}.wav" for u, s in zip(ids, speaker_of, strict=True)]
    utterances = {
        cols["utterance_id"]: ids,
        cols["audio_path"]: audio,
        cols["speaker"]: [speakers[s] for s in speaker_of],
        cols["gender"]: [genders[s] for s in speaker_of],
    }
    order = rng.permutation(n_speakers)
    if folds.column == "split":
        part_of = np.empty(n_speakers, dtype=object)
        held_out = max(1, round(HELD_OUT_SHARE * n_speakers))
        train, dev, test = FOLD_PARTS
        part_of[order] = train
        part_of[order[:held_out]], part_of[order[held_out : 2 * held_out]] = dev, test
        name = {p: next(s for s, q in folds.split_parts.items() if q == p) for p in FOLD_PARTS}
        utterances[cols["split"]] = [name[part_of[s]] for s in speaker_of]
    elif folds.column == "session":
        fold_of = np.empty(n_speakers, dtype=np.int64)
        fold_of[order] = np.arange(n_speakers) % k + 1
        utterances[cols["fold"]] = [int(fold_of[s]) for s in speaker_of]
    ratings: dict[str, list] = {cols[r]: [] for r in ("utterance_id", "rater_id", "label")}
    for uid, utt in zip(ids, design, strict=True):
        for vote in utt.counted_votes():
            ratings[cols["utterance_id"]].append(uid)
            ratings[cols["rater_id"]].append(f"rater{vote.rater + 1:03d}")
            ratings[cols["label"]].append(_word(fmt, vote.labels[0], rng))
    _write_table(root / layout.utterances, utterances)
    _write_table(root / layout.ratings, ratings)
    specs = [
        common.utterance_audio(root / path, utt, fmt, f0[s])
        for path, utt, s in zip(audio, design, speaker_of, strict=True)
    ]
    return specs, {"n_speakers": n_speakers}


def _word(fmt: CorpusFormat, label: int, rng: np.random.Generator) -> str:
    """The label word a rater writes for class index ``label`` (or "other")."""
    vocab = fmt.vocabulary
    if label == OTHER_TOKEN_INDEX:
        if vocab.other_words:
            return sorted(vocab.other_words)[0]
        if vocab.other_prefix:
            return f"{vocab.other_prefix}{rng.choice(common.OTHER_TEXTS)}"
        raise ValueError(
            f"{fmt.name}: the demo writes 'other' votes; give tables.other_words or "
            "tables.other_prefix"
        )
    word = vocab.word(fmt.classes[label])
    return word.upper() if not vocab.case_sensitive and rng.random() < 0.1 else word


def _write_table(path: Path, columns: dict[str, list]) -> None:
    """One table, by the extension of ``path`` (CSV, TSV or Parquet)."""
    kind = table_kind(path.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "parquet":
        pq.write_table(pa.table(columns), path)
        return
    text = io.StringIO()
    writer = csv.writer(text, delimiter="\t" if kind == "tsv" else ",", lineterminator="\n")
    writer.writerow(list(columns))
    writer.writerows(zip(*columns.values(), strict=True))
    common.write_text(path, text.getvalue())


RATINGS_TABLE = common.DemoWriter(
    fmt="ratings-table",
    write=write_ratings_table,
    top_level_entries=(AUDIO_FOLDER,),
    layout_entries=table_entries,
    layout_minimum=30,  # two speakers of three utterances for each of the default 5 folds
    plan=OutcomePlan(majority=0.6, tie=0.15, all_other=0.02),
    raters=RaterSetup(min_raters=3, max_raters=6, pool_size=40, p_other=0.05, p_noise=0.12),
)

__all__ = ["RATINGS_TABLE", "table_entries", "write_ratings_table"]
