"""Tests of the built-in demo corpora (serrules.demo): determinism, audio, native layouts, votes."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from serrules.corpora.formats import FORMAT_NAMES, FORMATS
from serrules.demo import format_seed_sequence, generate_demo_corpus, minimum_utterances
from serrules.demo.raters import MIN_WINS_PER_CLASS, design_corpus
from serrules.demo.writers import WRITERS, demo_writer

N = 60
SEED = 7
SHARED_CREMA = Path("/work/shared/data/crema-d")


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    out = {}
    for fmt in FORMATS:
        root = tmp_path_factory.mktemp(fmt)
        out[fmt] = (root, generate_demo_corpus(fmt, root, N, SEED))
    return out


def tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _design(fmt: str, n: int, rng: np.random.Generator):
    """The simulated votes of ``fmt`` as its demo writer plans them."""
    writer = demo_writer(fmt)
    return design_corpus(fmt, n, rng, plan=writer.plan, setup=writer.raters)


# --------------------------------------------------------------------------- writer registry


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_has_a_registered_demo_writer(fmt):
    writer = demo_writer(FORMATS[fmt])
    assert writer is demo_writer(fmt) is WRITERS[fmt] and writer.fmt == fmt
    assert callable(writer.write) and writer.layout_minimum >= 1 and writer.top_level_entries


def test_writer_registry_holds_exactly_the_formats():
    assert set(WRITERS) == set(FORMAT_NAMES)
    with pytest.raises(KeyError, match="unknown corpus format 'ravdess'"):
        demo_writer("ravdess")


def test_demo_settings_are_keyword_only():
    from serrules.demo.raters import OutcomePlan, RaterSetup

    with pytest.raises(TypeError):
        RaterSetup(3, 4, 6, 0.035, 0.10)  # settings are named, never positional
    with pytest.raises(TypeError):
        OutcomePlan(0.686, 0.253, 0.03)


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_smallest_demo_corpus_makes_every_label_table(tmp_path, fmt):
    """``minimum_utterances`` is enough for the label stage: the corpus parses, every rule keeps
    utterances and the folds of the format's design can be made (CREMA-D: an actor for each of
    its speaker-disjoint folds)."""
    from serrules.corpora import parse_corpus
    from serrules.labels.label_tables import build_label_tables

    n = minimum_utterances(fmt)
    generate_demo_corpus(fmt, tmp_path, n, SEED)
    tables = build_label_tables(parse_corpus(fmt, tmp_path), FORMATS[fmt])
    assert len(tables.utterances) == n
    assert all(len(tables.labels[rule]) > 0 for rule in ("MR", "PR", "AR"))
    assert tables.folds["fold"].nunique() == FORMATS[fmt].folds.n_folds


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_byte_identical_files(tmp_path):
    a = generate_demo_corpus("msp-improv", tmp_path / "a", 24, 3)
    b = generate_demo_corpus("msp-improv", tmp_path / "b", 24, 3)
    generate_demo_corpus("msp-improv", tmp_path / "c", 24, 4)
    assert a == b
    assert tree_hash(tmp_path / "a") == tree_hash(tmp_path / "b")
    assert tree_hash(tmp_path / "a") != tree_hash(tmp_path / "c")


def test_formats_do_not_share_a_random_stream():
    streams = [format_seed_sequence(fmt, 5).generate_state(4).tolist() for fmt in FORMATS]
    assert len({tuple(s) for s in streams}) == len(FORMATS)
    # the two podcast corpora have the same classes and rater setup, yet different votes
    rng = np.random.default_rng
    msp = _design("msp-podcast", 40, rng(format_seed_sequence("msp-podcast", 5)))
    biic = _design("biic-podcast", 40, rng(format_seed_sequence("biic-podcast", 5)))
    assert [u.duration_s for u in msp] != [u.duration_s for u in biic]


# --------------------------------------------------------------------------- argument checks


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown corpus format"):
        generate_demo_corpus("ravdess", tmp_path, 60, 0)
    assert minimum_utterances("iemocap") == 36  # 9 classes x 3 wins / 0.75
    assert minimum_utterances("msp-improv") == 20
    with pytest.raises(ValueError, match="below the demo minimum of 36"):
        generate_demo_corpus("iemocap", tmp_path, 35, 0)
    with pytest.raises(ValueError, match="seed"):
        generate_demo_corpus("crema-d", tmp_path, 40, -1)
    generate_demo_corpus("iemocap", tmp_path / "x", 36, 0)  # the minimum itself works
    with pytest.raises(FileExistsError, match="Session1"):
        generate_demo_corpus("iemocap", tmp_path / "x", 36, 0)


# --------------------------------------------------------------------------- summary / votes


@pytest.mark.parametrize("fmt", FORMATS)
def test_summary_rules_really_differ(corpora, fmt):
    s = corpora[fmt][1]
    assert s["n_utterances"] == N
    assert s["n_mr_kept"] < s["n_pr_kept"] < s["n_utterances"]
    assert s["n_pr_kept"] <= s["n_ar_kept"] <= s["n_utterances"]
    assert s["n_ratings"] == s["n_valid_votes"] + s["n_other_votes"]
    assert list(s["mr_wins"]) == list(FORMATS[fmt].classes)
    assert min(s["mr_wins"].values()) >= MIN_WINS_PER_CLASS
    assert min(s["pr_wins"].values()) >= MIN_WINS_PER_CLASS
    assert sum(s["mr_wins"].values()) == s["n_mr_kept"]
    assert sum(s["pr_wins"].values()) == s["n_pr_kept"]
    if fmt == "crema-d":  # CREMA-D raters cannot answer "other"
        assert s["n_other_votes"] == 0 and s["n_ar_kept"] == N
    else:
        assert s["n_other_votes"] > 0 and s["n_ar_kept"] < N  # some all-"other" utterances


def _mr_pr(votes: pd.DataFrame, key: str, label: str) -> tuple[int, int]:
    counts = pd.crosstab(votes[key], votes[label]).to_numpy()
    top = counts.max(axis=1)
    mr = int((2 * top > counts.sum(axis=1)).sum())
    pr = int(((counts == top[:, None]).sum(axis=1) == 1).sum())
    return mr, pr


def test_summary_matches_a_hand_count_of_the_podcast_files(corpora):
    root, s = corpora["msp-podcast"]
    detail = pd.read_csv(root / "Labels" / "labels_detailed.csv")
    primary = detail["EmoDetail"].str.split(";").str[1].str.strip()
    assert len(detail) == s["n_ratings"]
    is_other = primary.str.startswith("Other-")
    assert int(is_other.sum()) == s["n_other_votes"]
    valid = detail.assign(p=primary)[~is_other]
    assert valid["FileName"].nunique() == s["n_ar_kept"]
    assert _mr_pr(valid, "FileName", "p") == (s["n_mr_kept"], s["n_pr_kept"])


def test_summary_matches_a_hand_count_of_the_crema_files(corpora):
    root, s = corpora["crema-d"]
    resp = pd.read_csv(root / "finishedResponses.csv", index_col=0)
    first = pd.read_csv(root / "finishedEmoResponses.csv", index_col=0)
    assert (first.index == resp.index).all() and (first["ttr"] <= resp["ttr"]).all()
    slow = first["ttr"] > 10_000
    voice = resp[(resp["queryType"] == 1) & ~slow]
    assert int(((resp["queryType"] == 1) & slow).sum()) == s["n_slow_responses"]
    assert int((resp["queryType"] != 1).sum()) == s["n_non_voice_responses"] > 0
    assert len(voice) == s["n_ratings"]
    assert not voice.duplicated(["clipName", "localid"]).any()
    assert _mr_pr(voice, "clipName", "respEmo") == (s["n_mr_kept"], s["n_pr_kept"])
    per_clip = voice.groupby("clipName").size()
    assert per_clip.between(6, 10).all()
    keys = resp["sessionNums"] * 1000 + resp["queryType"] * 100 + resp["questNum"]
    assert keys.is_unique  # the release's response key identifies a response


# --------------------------------------------------------------------------- audio


def estimate_f0(x: np.ndarray, sr: int = 16_000) -> float:
    """Median autocorrelation pitch (Hz) over the loudest 40 ms frames."""
    frame, hop = 640, 320
    frames = np.lib.stride_tricks.sliding_window_view(x, frame)[::hop].astype(np.float64)
    energy = (frames**2).sum(axis=1)
    frames = frames[energy >= np.quantile(energy, 0.7)]
    frames = frames - frames.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(frames, 2 * frame, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :frame]
    lo, hi = sr // 500, sr // 60
    lags = lo + ac[:, lo:hi].argmax(axis=1)
    return float(np.median(sr / lags))


def test_audio_files_are_speech_like(corpora):
    root, _ = corpora["msp-improv"]
    text = (root / "Evaluation.txt").read_text()
    headers = re.findall(r"^UTD-IMPROV-(\S+)\.avi; ([AHSNOX]);", text, flags=re.M)
    assert len(headers) == N
    log_f0: dict[tuple[str, str], list[float]] = {}
    for stem, code in headers:
        sentence, speaker, scenario = stem.split("-")[:3]
        path = root / "Audio" / f"session{int(speaker[1:])}" / sentence / scenario
        path = path / f"MSP-IMPROV-{stem}.wav"
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype) == (16_000, 1, "PCM_16")
        assert 1.0 <= info.duration <= 4.0
        x, _ = sf.read(path, dtype="int16")
        assert np.sqrt(np.mean(x.astype(float) ** 2)) > 100  # not silent
        log_f0.setdefault((code, speaker[0]), []).append(np.log2(estimate_f0(x)))
    # high-arousal anger sounds higher than sadness, for both genders
    for gender in "FM":
        anger, sad = log_f0.get(("A", gender), []), log_f0.get(("S", gender), [])
        assert anger and sad
        assert np.mean(anger) - np.mean(sad) > 0.25  # more than 3 semitones
    # female speakers are higher than male ones
    female = [v for (_, g), vals in log_f0.items() if g == "F" for v in vals]
    male = [v for (_, g), vals in log_f0.items() if g == "M" for v in vals]
    assert np.mean(female) > np.mean(male) + 0.5


def test_pitch_estimator_on_a_pure_tone():
    t = np.arange(16_000) / 16_000
    assert estimate_f0((3000 * np.sin(2 * np.pi * 150 * t)).astype(np.int16)) == pytest.approx(
        150, rel=0.02
    )


# --------------------------------------------------------------------------- native layouts

IEMOCAP_HEAD = re.compile(
    r"^\[\d+\.\d{4} - \d+\.\d{4}\]\t(Ses0[1-5][FM]_\S+_[FM]\d{3})\t"
    r"(neu|hap|exc|sad|ang|fru|fea|sur|dis|oth|xxx)\t\[\d\.\d{4}, \d\.\d{4}, \d\.\d{4}\]$"
)
IEMOCAP_CAT = re.compile(r"^C-(E\d|F1|M1):\t((?:[A-Z][A-Za-z :]*; )*[A-Z][A-Za-z :]*;)\t\(.*\)$")
IEMOCAP_DIM = re.compile(r"^A-(E\d|F1|M1):\tval [1-5]; act [1-5]; dom  [1-5];\t\(.*\)$")


def test_iemocap_layout(corpora):
    root, s = corpora["iemocap"]
    ids = []
    for session in range(1, 6):
        eval_dir = root / f"Session{session}" / "dialog" / "EmoEvaluation"
        files = sorted(eval_dir.glob("Ses*.txt"))
        assert files and (eval_dir / "Categorical").is_dir()
        genders = set()
        for path in files:
            lines = path.read_text().split("\n")
            assert lines[0] == "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]"
            assert lines[1] == ""
            blocks = "\n".join(lines[2:]).strip("\n").split("\n\n")
            for block in blocks:
                head, *rest = block.split("\n")
                utt = IEMOCAP_HEAD.match(head).group(1)
                dialog, last = utt.rsplit("_", 1)
                assert dialog == path.stem and utt.startswith(f"Ses{session:02d}")
                genders.add(last[0])
                cat = [IEMOCAP_CAT.match(x) for x in rest if x.startswith("C-")]
                dim = [IEMOCAP_DIM.match(x) for x in rest if x.startswith("A-")]
                assert all(cat) and all(dim) and len(cat) == len(dim) == len(rest) / 2
                assert 3 <= sum(m.group(1).startswith("E") for m in cat) <= 4
                wav = root / f"Session{session}" / "sentences" / "wav" / dialog / f"{utt}.wav"
                assert wav.is_file()
                ids.append(utt)
        assert genders == {"F", "M"}
    assert len(ids) == len(set(ids)) == s["n_utterances"]
    assert len(list(root.rglob("*.wav"))) == N


MSP_HEADER = re.compile(
    r"^UTD-IMPROV-(S\d{2}[AHSN])-([FM])(0[1-6])-([RSPT])-[FM]{2}\d{2}\.avi; [AHSNOX]; "
    r"A:\d\.\d{6}; V:\d\.\d{6}; D:\d\.\d{6} ; N:\d\.\d{6};$"
)
MSP_RATER = re.compile(
    r"^(E\d{4}); (Angry|Happy|Sad|Neutral|Other); ([A-Za-z,]*); "
    r"A:\d\.0; V:\d\.0; D:\d\.0; N:\d\.0;$"
)


def test_msp_improv_layout(corpora):
    root, s = corpora["msp-improv"]
    blocks = (root / "Evaluation.txt").read_text().strip("\n").split("\n\n")
    assert len(blocks) == N
    pairs, sessions, n_lines = Counter(), {}, 0
    for block in blocks:
        head, *raters = block.split("\n")
        m = MSP_HEADER.match(head)
        sessions.setdefault(int(m.group(3)), set()).add(m.group(2))
        for line in raters:
            pairs[(head, MSP_RATER.match(line).group(1))] += 1
            n_lines += 1
    assert sessions == {k: {"F", "M"} for k in range(1, 7)}
    assert sorted(pairs.values(), reverse=True)[:2] == [2, 1]  # exactly one duplicate pair
    assert n_lines == s["n_ratings"] + s["n_duplicate_ratings"]
    assert len(list((root / "Audio").rglob("MSP-IMPROV-*.wav"))) == N


@pytest.mark.parametrize("fmt", ["msp-podcast", "biic-podcast"])
def test_podcast_layout(corpora, fmt):
    root, s = corpora[fmt]
    cons = pd.read_csv(root / "Labels" / "labels_consensus.csv", dtype=str)
    assert list(cons.columns) == [
        "FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID", "Gender", "Split_Set"
    ]  # fmt: skip
    pattern = (
        r"MSP-PODCAST_\d{4}_\d{4}\.wav"
        if fmt == "msp-podcast"
        else r"BIIC-PODCAST_\d{4}_\d{4}_\d{4}\.wav"
    )
    assert cons["FileName"].str.fullmatch(pattern).all() and cons["FileName"].is_unique
    splits = {"Train", "Development", "Test1", "Test2"} if fmt == "msp-podcast" else {
        "Train", "Development", "Test"
    }  # fmt: skip
    assert set(cons["Split_Set"]) == splits
    assert cons["Split_Set"].value_counts()["Train"] / N == pytest.approx(0.56, abs=0.03)
    assert (cons["SpkrID"] == "Unknown").any() and set(cons["Gender"]) <= {
        "Female", "Male", "Unknown"
    }  # fmt: skip
    known = cons[cons["SpkrID"] != "Unknown"]
    assert (known.groupby("SpkrID")["Split_Set"].nunique() == 1).all()  # no straddling speaker
    assert set(cons["EmoClass"]) <= set("ASHUFDCNOX")
    detail = pd.read_csv(root / "Labels" / "labels_detailed.csv", dtype=str)
    assert list(detail.columns) == ["FileName", "EmoDetail"]
    fields = detail["EmoDetail"].str.rstrip(";").str.split("; ")
    assert fields.str[0].str.fullmatch(r"WORKER\d{5}").all()
    assert fields.str.len().isin([5, 6]).all() and (fields.str.len() == 5).any()
    assert fields.str[-3].str.fullmatch(r"A:[1-7]\.0").all()
    assert set(detail["FileName"]) == set(cons["FileName"])
    assert len(detail) == s["n_ratings"]
    wavs = {p.name for p in (root / "Audios").glob("*.wav")}
    assert wavs == set(cons["FileName"])


def test_crema_d_layout(corpora):
    root, s = corpora["crema-d"]
    header = (root / "finishedResponses.csv").read_text().split("\n", 1)[0]
    assert header.replace('"', "").split(",") == (
        ",localid,pos,ans,ttr,queryType,numTries,clipNum,questNum,subType,clipName,sessionNums,"
        "respEmo,respLevel,dispEmo,dispVal,dispLevel"
    ).split(",")
    resp = pd.read_csv(root / "finishedResponses.csv", index_col=0)
    assert set(resp["queryType"]) == {1, 2, 3} and set(resp["subType"]) == {4}
    assert (
        resp["clipName"]
        .str.fullmatch(r"1\d{3}_[A-Z]{3}_(ANG|DIS|FEA|HAP|NEU|SAD)_(LO|MD|HI|XX)")
        .all()
    )
    assert (resp["ans"] == resp["respEmo"] + "_" + resp["respLevel"].astype(str)).all()
    assert (resp["clipName"].str[9:10] == resp["dispEmo"]).all()
    assert resp["clipName"].nunique() == N
    demo_text = (root / "VideoDemographics.csv").read_text()
    if SHARED_CREMA.is_dir():  # the real release's header, quoting included
        real = (SHARED_CREMA / "VideoDemographics.csv").read_text().split("\n", 1)[0]
        assert demo_text.split("\n", 1)[0] == real.strip()
    demo = pd.read_csv(root / "VideoDemographics.csv")
    assert set(resp["clipName"].str[:4].astype(int)) <= set(demo["ActorID"])
    assert set(demo["Sex"]) == {"Female", "Male"}
    wavs = {p.stem for p in (root / "AudioWAV").glob("*.wav")}
    assert wavs == set(resp["clipName"])


def _table_entry(**tables) -> dict:
    """A ratings-table config entry: the shipped config's, with some tables settings changed."""
    import yaml

    config = yaml.safe_load((Path(__file__).parents[1] / "config.yaml").read_text())
    entry = config["corpora"]["my-corpus"]
    return {**entry, "tables": {**entry["tables"], **tables}}


def test_ratings_table_layout_follows_the_entry(tmp_path):
    """The two tables where the entry puts them, with its column names, label words and split
    names; speaker-disjoint splits; one audio file per utterance; the summary is what the
    parser and the label stage find; same arguments, same bytes."""
    from serrules.corpora import parse_corpus
    from serrules.labels.label_tables import build_label_tables

    entry = _table_entry(
        ratings="tables/votes.tsv",
        utterances="tables/clips.parquet",
        columns={"utterance_id": "clip", "label": "emotion", "split": "partition"},
        folds={"by": "split", "splits": {"Train": "train", "Valid": "dev", "Eval": "test"}},
    )
    s = generate_demo_corpus(entry, tmp_path / "a", 30, SEED)
    root = tmp_path / "a"
    assert sorted(p.name for p in root.iterdir()) == ["audio", "tables"]
    votes = pd.read_csv(root / "tables" / "votes.tsv", sep="\t")
    clips = pd.read_parquet(root / "tables" / "clips.parquet")
    assert list(votes.columns) == ["clip", "rater_id", "emotion"]
    assert list(clips.columns) == ["clip", "audio_path", "speaker", "gender", "partition"]
    assert set(votes["emotion"].str.lower()) == {"angry", "happy", "sad", "neutral", "other"}
    assert set(clips["partition"]) == {"Train", "Valid", "Eval"}
    assert clips.groupby("speaker")["partition"].nunique().max() == 1  # speaker-disjoint
    assert all((root / p).is_file() for p in clips["audio_path"])
    assert len(votes) == s["n_ratings"] and len(clips) == s["n_utterances"] == 30
    tables = build_label_tables(parse_corpus(entry, root), entry)
    assert [len(tables.labels[r]) for r in ("MR", "PR", "AR")] == [
        s["n_mr_kept"],
        s["n_pr_kept"],
        s["n_ar_kept"],
    ]
    generate_demo_corpus(entry, tmp_path / "b", 30, SEED)
    assert tree_hash(root) == tree_hash(tmp_path / "b")
    with pytest.raises(FileExistsError, match="tables"):
        generate_demo_corpus(entry, root, 30, SEED)


def test_ratings_table_demo_makes_the_folds_of_the_entry(tmp_path):
    from serrules.corpora import parse_corpus
    from serrules.labels.label_tables import build_label_tables

    for by in ("fold", "speaker"):
        entry = _table_entry(folds={"by": by, "k": 3})
        generate_demo_corpus(entry, tmp_path / by, 30, SEED)
        folds = build_label_tables(parse_corpus(entry, tmp_path / by), entry).folds
        assert folds["fold"].nunique() == 3
        assert folds.groupby(["fold", "part"]).size().min() > 0


def test_ratings_table_demo_refuses_what_it_cannot_write(tmp_path):
    with pytest.raises(ValueError, match=r"simulates only the classes .* not \['boredom'\]"):
        generate_demo_corpus(
            _table_entry(classes=["anger", "boredom"], words={}), tmp_path / "a", 60, 0
        )
    with pytest.raises(ValueError, match="give tables.other_words or tables.other_prefix"):
        generate_demo_corpus(_table_entry(other_words=[]), tmp_path / "b", 60, 0)
    with pytest.raises(ValueError, match="15 folds need at least 90 demo utterances"):
        generate_demo_corpus(_table_entry(folds={"k": 15}), tmp_path / "c", 60, 0)


# --------------------------------------------------------------------------- parsers agree


@pytest.mark.parametrize("fmt", FORMATS)
def test_parsers_read_what_the_generator_wrote(corpora, fmt):
    from serrules.corpora import parse_corpus

    root, s = corpora[fmt]
    parsed = parse_corpus(fmt, root)
    status = parsed.ratings["status"].value_counts().to_dict()
    assert len(parsed.utterances) == s["n_utterances"]
    assert status.get("valid", 0) == s["n_valid_votes"]
    assert status.get("other", 0) == s["n_other_votes"]
    assert status.get("self_evaluation", 0) == s["n_self_evaluation_votes"]
    assert status.get("duplicate_rater", 0) == s.get("n_duplicate_ratings", 0)
    assert status.get("slow_response", 0) == s.get("n_slow_responses", 0)
    assert len(parsed.ratings) == (
        s["n_ratings"]
        + s["n_self_evaluation_votes"]
        + s.get("n_duplicate_ratings", 0)
        + s.get("n_slow_responses", 0)
    )
    audio = parsed.utterances["audio_path"].map(lambda p: Path(p).is_file())
    assert audio.all()  # audio_path points at the files the generator wrote


@pytest.mark.parametrize("fmt", ["iemocap", "msp-improv", "msp-podcast", "biic-podcast"])
def test_shipped_demo_table3_is_within_two_points_of_the_paper(fmt):
    """The shipped config (240 utterances, seed 20240101) lands within 2 points of the paper's
    Table 3 row of each corpus (data and rating loss of MR, PR and AR)."""
    import yaml

    from serrules.demo.raters import design_table3

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())
    design_ss, _, _ = format_seed_sequence(fmt, config["seed"]).spawn(3)
    design = _design(fmt, config["demo"]["n_utterances"], np.random.default_rng(design_ss))
    got = design_table3(fmt, design)
    for rule, (data_loss, rating_loss) in demo_writer(fmt).paper_table3.items():
        assert got[rule][0] == pytest.approx(data_loss, abs=2.0), (fmt, rule, "data")
        assert got[rule][1] == pytest.approx(rating_loss, abs=2.0), (fmt, rule, "rating")
    assert got["AR"][0] == 0.0
