"""Data loss and rating loss of each aggregation rule (the numbers of Table 3 and Fig. 1 of the
paper; :mod:`serrules.reporting.table3_fig1` draws them).

Definitions (over the ``utterances`` table of the label stage; docs/labels.md says why):

* **Denominators = the AR set.** ``n_utterances`` = parsed utterances with at least one valid
  vote (the utterances AR keeps), so AR's data loss is 0 by construction, as in the paper's
  Table 3; its MSP-IMPROV MR/PR data losses (9.18%, 5.63%) are 1 - 7615/8385 and 1 - 7913/8385,
  i.e. this denominator (8385 utterances with a valid vote, not the release's 8438 clips).
  ``n_ratings`` = the valid-or-other votes of those utterances (``n_valid + n_other``).
  Ratings excluded earlier (self-evaluations, duplicates, unknown labels, ...) are in neither.
* **No valid vote.** Parsed utterances without any valid vote (only "other" votes, or none
  counted) are outside the AR set and are reported in their own columns (``n_no_valid_vote``
  utterances holding ``n_no_valid_vote_ratings`` "other" votes), never folded into a rule's loss.
* **Data loss** = ``1 - n_kept / n_utterances``, ``n_kept`` = utterances the rule keeps.
* **Rating loss** = ``1 - n_ratings_used / n_ratings``. MR and PR use only the votes for the
  winning class of each kept utterance (the one-hot target throws the minority votes and the
  "other" votes away); AR uses every valid vote (only "other" votes are lost). The paper does
  not spell its rating-loss definition out; this one reproduces its AR column's size (the share
  of "other" votes) and is documented in docs/labels.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from serrules.base.classes import RULES, prefixed
from serrules.base.tables import check_table, contract, read_table
from serrules.labels.aggregation import rule_targets

#: Columns of ``label_loss.parquet``, in order (its contract in :mod:`serrules.base.tables`).
LOSS_COLUMNS: tuple[str, ...] = tuple(contract("label_loss").column_names())


def label_loss(
    utterances: pd.DataFrame,
    classes: Sequence[str],
    corpus: str,
    mr_share: str = "raw",
    epsilon: float = 0.0,
) -> pd.DataFrame:
    """One row per rule (MR, PR, AR): ``corpus, rule, n_utterances, n_kept, data_loss,
    n_ratings, n_ratings_used, rating_loss, n_no_valid_vote, n_no_valid_vote_ratings`` (losses
    are fractions in [0, 1]; denominators = the AR set, see the module docstring). MR decides
    on ``mr_share`` (``raw`` or ``smoothed`` with ``epsilon``;
    :func:`serrules.labels.aggregation.majority_mask`).

    ``utterances`` needs ``utterance_id``, the ``votes_<class>`` columns and ``n_other`` of
    ``utterances.parquet``. Raises :class:`~serrules.base.errors.TableError` when a column is
    missing (the table contract) and ``ValueError`` when no utterance has a valid vote.
    """
    check_table(utterances, "utterances", classes=classes, columns=["n_other"], source=corpus)
    vote_cols = prefixed("votes_", tuple(classes))
    votes = utterances[vote_cols].to_numpy(dtype=np.int64)
    n_other = utterances["n_other"].to_numpy(dtype=np.int64)
    n_valid = votes.sum(axis=1)
    ar_set = n_valid > 0
    n_utterances = int(ar_set.sum())
    n_ratings = int((n_valid + n_other)[ar_set].sum())
    n_no_valid_vote = int((~ar_set).sum())
    n_no_valid_vote_ratings = int(n_other[~ar_set].sum())
    if n_utterances == 0:
        raise ValueError(f"{corpus}: no utterance has a valid vote; losses are undefined")
    rows = []
    for rule in RULES:
        keep, y, _ = rule_targets(votes, rule, mr_share, epsilon)
        if rule == "AR":
            used = int(n_valid[keep].sum())
        else:  # one-hot target: only the winning class's votes carry into training
            used = int((votes * (y > 0)).sum())
        n_kept = int(keep.sum())
        rows.append(
            {
                "corpus": corpus,
                "rule": rule,
                "n_utterances": n_utterances,
                "n_kept": n_kept,
                "data_loss": 1.0 - n_kept / n_utterances,
                "n_ratings": n_ratings,
                "n_ratings_used": used,
                "rating_loss": 1.0 - used / n_ratings,
                "n_no_valid_vote": n_no_valid_vote,
                "n_no_valid_vote_ratings": n_no_valid_vote_ratings,
            }
        )
    return pd.DataFrame(rows, columns=list(LOSS_COLUMNS))


def read_label_loss(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Concatenate ``label_loss.parquet`` files, checking columns, rules and unique corpora."""
    frames = []
    for path in paths:
        df = read_table(path, "label_loss")
        if sorted(df["rule"]) != sorted(RULES):
            raise ValueError(
                f"{path}: expected one row per rule {list(RULES)}, got {list(df.rule)}"
            )
        if df["corpus"].nunique() != 1:
            raise ValueError(f"{path}: expected one corpus, got {sorted(df['corpus'].unique())}")
        frames.append(df[list(LOSS_COLUMNS)])
    if not frames:
        raise ValueError("no label_loss files given")
    out = pd.concat(frames, ignore_index=True)
    corpora = [f["corpus"].iloc[0] for f in frames]
    dup = {c for c in corpora if corpora.count(c) > 1}
    if dup:
        raise ValueError(f"corpus listed in more than one label_loss file: {sorted(dup)}")
    return out


__all__ = [
    "LOSS_COLUMNS",
    "label_loss",
    "read_label_loss",
]
