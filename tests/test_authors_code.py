"""The `authors` preset to the letter of the authors' released code (issue 18): the MR decision on
the smoothed share, the dev/test loops (batch order, precision, rounding of the dev loss, last
batch), the waveform statistics and the MSP-IMPROV fold numbering, each against a plain
transcription of their code; and the two defects (float32 1/C threshold, AR_test divergence
target), each with the test that failed before the fix."""

from __future__ import annotations

import functools
import itertools
from fractions import Fraction

import numpy as np
import pytest
import soundfile as sf
import torch

from serrules.base.classes import above_presence_threshold
from serrules.base.protocols import CHOICES, preset
from serrules.corpora.formats import MSP_IMPROV_AUTHORS_FILE_TO_FOLD, corpus_format
from serrules.evaluation.metrics import predicted_presence
from serrules.labels.aggregation import (
    majority_mask,
    multi_hot,
    plurality_mask,
    rule_targets,
    smooth_targets,
)
from serrules.training.batching import statistics_crop, waveform_statistics
from serrules.training.choices import (
    build_criterion,
    eval_batches,
    eval_precision,
    improves,
    train_batch_sampler,
    training_targets,
)
from serrules.training.loss import presence_counts
from serrules.training.run_config import TrainConfig

EPS = 0.05
# the five MSP-IMPROV clips the raw rule keeps and the authors' MR files do not (issue 18)
FIVE = [(4, 0, 11, 16), (14, 0, 16, 1), (0, 0, 17, 16), (14, 0, 15, 0), (4, 15, 10, 0)]


def authors_smoothed_top(votes, eps=EPS):
    """The authors' released _D files: u smoothed as (1-eps) u + eps (1-u)/(C-1), exact."""
    e = Fraction(str(eps))
    total = sum(votes)
    c = len(votes)
    return [(1 - e) * Fraction(v, total) + e * (1 - Fraction(v, total)) / (c - 1) for v in votes]


def authors_mr(votes, eps=EPS):
    return sum(votes) > 0 and max(authors_smoothed_top(votes, eps)) > Fraction(1, 2)


@functools.cache
def _authors_mr_of_multiset(sorted_votes: tuple[int, ...]) -> bool:
    return authors_mr(sorted_votes)


def authors_mr_cached(votes) -> bool:
    """:func:`authors_mr`, evaluated once per multiset of counts: the transcription is the same
    function of every class (the max over classes of one formula), so the order of the counts
    does not change it; the exhaustive test below then runs in a fraction of the exact
    arithmetic."""
    return _authors_mr_of_multiset(tuple(sorted(votes)))


# ---- labels.mr_share --------------------------------------------------------------------------


def test_every_choice_names_the_authors_source():
    new = {"mr_share", "batching", "eval_order", "eval_precision", "waveform_statistics"}
    rows = [c for c in CHOICES if c.key in new | {"dev_loss_decimals"}]
    assert len(rows) == 6
    for choice in rows:
        assert choice.source, choice.path


def test_the_five_clips_are_majority_raw_but_not_smoothed():
    votes = np.array(FIVE, dtype=np.int64)
    assert majority_mask(votes, "raw").all()
    assert not majority_mask(votes, "smoothed", EPS).any()
    shares = votes.max(axis=1) / votes.sum(axis=1)
    assert 0.515 < shares.min() and shares.max() < 0.5173


@pytest.mark.parametrize("votes", FIVE)
def test_neighbours_of_the_five_clips(votes):
    """One more vote for the top class crosses the smoothed threshold u > 0.5179; one fewer
    leaves the raw majority too; each decision equals the exact transcription."""
    top = int(np.argmax(votes))
    for delta in (-2, -1, 0, 1, 2, 3):
        row = list(votes)
        row[top] += delta
        arr = np.array([row], dtype=np.int64)
        assert majority_mask(arr, "smoothed", EPS)[0] == authors_mr(row), row
        assert majority_mask(arr, "raw")[0] == (2 * max(row) > sum(row)), row
    up = list(votes)
    up[top] += 1
    assert majority_mask(np.array([up]), "smoothed", EPS)[0]
    down = list(votes)
    down[top] -= 1
    assert not majority_mask(np.array([down]), "raw")[0]


@pytest.mark.parametrize("n_classes", [4, 9])
def test_smoothed_majority_equals_the_transcription_on_every_small_vote_vector(n_classes):
    rows = [
        tuple(np.bincount(pick, minlength=n_classes))
        for total in range(1, 30 if n_classes == 4 else 9)
        for pick in itertools.combinations_with_replacement(range(n_classes), total)
    ]
    votes = np.array(rows, dtype=np.int64)
    got = majority_mask(votes, "smoothed", EPS)
    want = np.array([authors_mr_cached(r) for r in rows])
    np.testing.assert_array_equal(got, want)
    # the threshold in the issue: u > 0.5179 for C = 4
    if n_classes == 4:
        u = votes.max(axis=1) / votes.sum(axis=1)
        np.testing.assert_array_equal(got, u > (0.5 - EPS / 3) / (1 - EPS - EPS / 3))


def test_plurality_does_not_move_under_smoothing():
    """Smoothing is strictly increasing in the share, so the unique top class of the smoothed
    distribution is the unique top class of the votes: PR is the same set."""
    rows = [r for r in itertools.product(range(6), repeat=4) if sum(r) > 0]
    votes = np.array(rows, dtype=np.int64)
    smoothed = [authors_smoothed_top(r) for r in rows]
    unique_top = np.array([sum(v == max(s) for v in s) == 1 for s in smoothed])
    np.testing.assert_array_equal(plurality_mask(votes), unique_top)
    for share in ("raw", "smoothed"):
        keep, _, _ = rule_targets(votes, "PR", share, EPS)
        np.testing.assert_array_equal(keep, plurality_mask(votes))


def test_smoothed_with_zero_epsilon_is_raw():
    votes = np.array([(1, 1, 0, 0), (2, 1, 0, 0), *FIVE], dtype=np.int64)
    np.testing.assert_array_equal(majority_mask(votes, "smoothed", 0.0), majority_mask(votes))


def test_mr_share_moves_the_label_loss():
    import pandas as pd

    from serrules.labels.label_loss import label_loss

    classes = corpus_format("msp-improv").classes
    votes = np.array([*FIVE, (5, 0, 0, 0), (1, 1, 1, 0)], dtype=np.int32)
    utts = pd.DataFrame({"utterance_id": [f"u{i}" for i in range(len(votes))]})
    for j, c in enumerate(classes):
        utts[f"votes_{c}"] = votes[:, j]
    utts["n_other"] = np.zeros(len(votes), np.int32)
    raw = label_loss(utts, classes, "x").set_index("rule")
    smooth = label_loss(utts, classes, "x", mr_share="smoothed", epsilon=EPS).set_index("rule")
    assert raw.loc["MR", "n_kept"] == 6 and smooth.loc["MR", "n_kept"] == 1
    assert smooth.loc["MR", "data_loss"] == pytest.approx(1 - 1 / 7)
    for rule in ("PR", "AR"):
        assert raw.loc[rule].equals(smooth.loc[rule])


def test_mr_share_preset():
    assert preset("paper")["labels"]["mr_share"] == "raw"
    assert preset("authors")["labels"]["mr_share"] == "smoothed"


# ---- defect: float32 share of exactly 1/C ------------------------------------------------------


def test_float32_share_of_exactly_one_ninth_is_not_present():
    """IEMOCAP (C = 9): a share of exactly 1/9 stored as float32 is 0.11111111194 > 1/9; it
    must not count in n_j ("strictly greater than 1/C"). Failed before: presence_counts upcast
    to float64 and counted it."""
    shares = np.full((1, 9), 1 / 9, dtype=np.float32)
    assert np.float64(shares[0, 0]) > 1 / 9  # the trap
    np.testing.assert_array_equal(presence_counts(shares), np.zeros(9, dtype=np.int64))
    assert not predicted_presence(shares).any()
    np.testing.assert_array_equal(multi_hot(shares, 9), np.zeros((1, 9), dtype=np.int8))
    np.testing.assert_array_equal(multi_hot(np.ones((1, 9), dtype=np.int32), 9), 0)


@pytest.mark.parametrize("protocol", ["paper", "authors"])
def test_class_counts_are_exact_for_every_share_k_over_n(protocol):
    """n_j of build_criterion (after the protocol's smoothing, on float32 targets) equals the
    exact count votes_j * C > total for every share k/n, n <= 40, C = 4 and 9."""
    cfg = TrainConfig.from_mapping({**preset(protocol)["training"], "beta": 0.99})
    for c in (4, 9):
        rows = [(k, n) for n in range(1, 41) for k in range(n + 1)]
        y = np.zeros((len(rows), c), np.float32)
        y[:, 0] = [k / n for k, n in rows]
        y[:, 1] = [1 - k / n for k, n in rows]
        exact = sum(k * c > n for k, n in rows)
        targets = training_targets(y, cfg)
        assert presence_counts(targets)[0] == exact, (protocol, c)
        build_criterion(targets, [f"c{j}" for j in range(c)], cfg)


def test_presence_rejects_counts():
    with pytest.raises(TypeError):
        above_presence_threshold(np.ones((2, 3), dtype=np.int64))


# ---- training loops --------------------------------------------------------------------------


def _cfg(protocol, **kw):
    return TrainConfig.from_mapping(
        {**preset(protocol)["training"], "batch_size": 4, "bucket_size": 8, **kw}
    )


def test_shuffled_batches_are_a_plain_permutation():
    """authors: DataLoader(shuffle=True, drop_last=True), train.py:136 — a permutation of the
    items cut into full batches, whatever the lengths."""
    lengths = np.arange(11.0)
    sampler = train_batch_sampler(11, lengths, torch.Generator().manual_seed(3), _cfg("authors"))
    order = torch.randperm(11, generator=torch.Generator().manual_seed(3)).tolist()
    assert sampler.batches() == [order[0:4], order[4:8]]
    paper = train_batch_sampler(11, lengths, torch.Generator().manual_seed(3), _cfg("paper"))
    assert paper.bucketed and not sampler.bucketed


def test_dev_and_test_in_name_order_and_drop_last_drops_the_last_names():
    names = ["c", "a", "e", "b", "d", "f"]
    lengths = np.array([6.0, 1.0, 5.0, 2.0, 4.0, 3.0])
    by_name = eval_batches(lengths, names, _cfg("authors"))
    # the authors: utt_list.sort() (utils/data_manager.py:62), shuffle=False (test.py:128)
    assert [names[i] for b in by_name for i in b] == sorted(names)
    dev = eval_batches(lengths, names, _cfg("authors"), drop_last=True)
    assert [names[i] for b in dev for i in b] == ["a", "b", "c", "d"]  # e, f dropped
    by_length = eval_batches(lengths, names, _cfg("paper", drop_last=True), drop_last=True)
    assert [names[i] for b in by_length for i in b] == ["a", "b", "f", "d"]  # longest dropped


def test_dev_and_test_precision():
    """authors: autocast around the training step only (train.py:173); dev (train.py:227) and
    test (test.py:153) run in fp32."""
    assert eval_precision(_cfg("authors", precision="fp16")) == "fp32"
    assert eval_precision(_cfg("paper", precision="bf16")) == "bf16"


def authors_best_epoch(dev_losses):
    """train.py:262-269 with LogManager.get_stat (utils/loss_manager.py:32-33)."""
    temp_dev, best = 99999999999, None
    for epoch, loss in enumerate(dev_losses, start=1):
        dev_loss = np.round(np.mean([loss]), 4)
        if float(dev_loss) < float(temp_dev):
            temp_dev, best = float(dev_loss), epoch
    return best


@pytest.mark.parametrize(
    "losses", [[0.71234, 0.71231, 0.7123], [0.5, 0.49996, 0.49994], [1.0, 0.9, 0.90004, 0.8]]
)
def test_best_epoch_on_the_rounded_dev_loss(losses):
    def pick(cfg):
        best, best_epoch = float("inf"), None
        for epoch, loss in enumerate(losses, start=1):
            if improves(loss, best, cfg):
                best, best_epoch = loss, epoch
        return best_epoch

    assert pick(_cfg("authors")) == authors_best_epoch(losses)
    assert pick(_cfg("paper")) == int(np.argmin(losses)) + 1


def test_rounding_changes_the_best_epoch():
    losses = [0.71234, 0.71231]
    assert authors_best_epoch(losses) == 1
    best = float("inf")
    assert improves(losses[0], best, _cfg("paper"))
    assert improves(losses[1], losses[0], _cfg("paper"))
    assert not improves(losses[1], losses[0], _cfg("authors"))


def test_waveform_statistics_over_uncropped_audio(tmp_path):
    """authors: normalizer.get_norm_stat_for_wav over the whole training waveforms
    (utils/dataset.py:84); the crop to max_dur comes when an item is served (:94)."""
    rng = np.random.default_rng(0)
    waves = [rng.normal(i, 1 + i, 16000 * (1 + 2 * i)).astype(np.float32) * 0.01 for i in range(3)]
    paths = []
    for i, w in enumerate(waves):
        paths.append(str(tmp_path / f"{i}.wav"))
        sf.write(paths[-1], w, 16000, subtype="FLOAT")
    total = sum(float(np.sum(w.astype(np.float64))) for w in waves)
    sq = sum(float(np.sum(w.astype(np.float64) ** 2)) for w in waves)
    count = sum(len(w) for w in waves)
    mean = total / count
    std = np.sqrt(sq / count - mean**2)
    crop = statistics_crop(2.0, preset("authors")["training"]["waveform_statistics"])
    got = waveform_statistics(paths, crop)
    assert got == pytest.approx((mean, std), rel=1e-6)
    cropped = waveform_statistics(
        paths, statistics_crop(2.0, preset("paper")["training"]["waveform_statistics"])
    )
    assert abs(cropped[0] - mean) > 1e-4


# ---- MSP-IMPROV fold numbering -------------------------------------------------------------------

#: The authors' labels_consensus_<k>.csv (Split_Set by speaker session), transcribed.
AUTHORS_MSP_IMPROV_FILES = {
    1: ((1, 2, 5, 6), (3,), (4,)),
    2: ((1, 4, 5, 6), (2,), (3,)),
    3: ((3, 4, 5, 6), (1,), (2,)),
    4: ((2, 3, 4, 5), (6,), (1,)),
    5: ((1, 2, 3, 4), (5,), (6,)),
    6: ((1, 2, 3, 6), (4,), (5,)),
}


def test_msp_improv_authors_files_are_the_paper_partitions_renumbered():
    table = corpus_format("msp-improv").folds.sessions["paper"]
    for k, parts in AUTHORS_MSP_IMPROV_FILES.items():
        assert table[MSP_IMPROV_AUTHORS_FILE_TO_FOLD[k] - 1] == parts, k
    assert sorted(MSP_IMPROV_AUTHORS_FILE_TO_FOLD.values()) == [1, 2, 3, 4, 5, 6]


def test_smooth_targets_fixed_point_is_one_over_c():
    y = np.full((1, 4), 0.25, np.float32)
    np.testing.assert_allclose(smooth_targets(y, EPS), y, atol=1e-7)


def test_labels_command_protocol_authors_decides_mr_on_the_smoothed_share(tmp_path, capsys):
    """`serrules labels --protocol authors` writes the MR set of the smoothed share (and PR/AR
    unchanged); the default (paper) the raw share."""
    import pandas as pd

    from serrules.cli import main
    from serrules.demo import generate_demo_corpus

    root = tmp_path / "MSP-IMPROV"
    generate_demo_corpus("msp-improv", root, n_utterances=80, seed=5)
    out = {}
    for protocol in ("paper", "authors"):
        dest = tmp_path / protocol
        assert (
            main(["labels", "--format", "msp-improv", "--protocol", protocol, str(root), str(dest)])
            == 0
        )
        out[protocol] = {r: pd.read_parquet(dest / f"labels_{r}.parquet") for r in ("MR", "PR")}
        utts = pd.read_parquet(dest / "utterances.parquet")
    assert "MR on the smoothed share" in capsys.readouterr().out
    classes = corpus_format("msp-improv").classes
    votes = utts[[f"votes_{c}" for c in classes]].to_numpy(np.int64)
    ids = utts["utterance_id"].to_numpy()
    for protocol, share in (("paper", "raw"), ("authors", "smoothed")):
        want = set(ids[majority_mask(votes, share, EPS)])
        assert set(out[protocol]["MR"]["utterance_id"]) == want
    assert out["paper"]["PR"].equals(out["authors"]["PR"])
