"""Latent emotion blends and simulated raters for the demo corpora.

Every utterance gets a *design*: a dominant class, a planned vote outcome (``majority``: MR and
PR keep it; ``plurality``: only PR keeps it; ``tie``: neither; ``all_other``: every vote is
"other", so even AR drops it) and a Dirichlet blend over the corpus classes concentrated on one
or two classes in a way that makes that outcome likely. Raters then vote from the blend with rater
noise (a uniform random class now and then, an "other" vote now and then and, in IEMOCAP, extra
emotions besides the primary one). The votes of an utterance are redrawn until they produce the
planned outcome (conditioned sampling), so the corpus-level differences between MR, PR and AR and
the per-class coverage are guaranteed rather than left to chance, while the votes themselves
still come from the blend.

Counting (the same as the pipeline's aggregation): a valid vote is one chosen class token
(IEMOCAP: every emotion a rater selected counts); "other" tokens are not valid votes; actor
self-evaluations (IEMOCAP ``C-F1``/``C-M1``) and repeated (utterance, rater) pairs are not
counted. MR keeps an utterance when one class has strictly more than half of its valid votes, PR
when exactly one class has the most valid votes, AR when it has at least one valid vote.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from serrules.corpora.formats import CorpusFormat, FormatSpec, corpus_format

#: Class index of an "other" token in the simulated votes (not a class; no valid vote).
OTHER_TOKEN_INDEX = -1

SCENARIOS: tuple[str, ...] = ("majority", "plurality", "tie", "all_other")

#: Every class must win MR (and so PR) on at least this many utterances.
MIN_WINS_PER_CLASS = 3


@dataclass(frozen=True, kw_only=True)
class OutcomePlan:
    """Planned vote outcomes of one corpus format (shares of the utterances with a valid vote;
    ``all_other`` utterances come on top) and how concentrated a planned majority's blend is.
    Each format's plan is part of its demo writer (:mod:`serrules.demo.writers`)."""

    majority: float  # MR and PR keep it
    tie: float  # neither keeps it (the rest of the AR set is plurality without majority)
    all_other: float  # every vote is "other": outside the AR set
    majority_alpha: float = 8.0  # Dirichlet weight of the dominant class of a majority blend
    second_alpha: float = 1.5  # weight of a runner-up class (half of the majority blends)
    plurality_lead: float = 0.42  # blend share of the winner of a planned plurality
    plurality_min_raters: int = 5  # raters of a planned plurality (single-choice corpora)


@dataclass(frozen=True, kw_only=True)
class RaterSetup:
    """How the raters of one corpus format behave (part of its demo writer)."""

    min_raters: int  # counted raters per utterance (inclusive range)
    max_raters: int
    pool_size: int  # distinct rater identities to draw from
    p_other: float  # chance that a rater answers "other" instead of a class
    p_noise: float  # chance that a rater picks a uniformly random class
    multi_select: bool = False  # IEMOCAP: raters may tick several emotions
    p_second: float = 0.0  # chance of a second ticked emotion (multi_select)
    p_third: float = 0.0  # chance of a third one
    p_self_eval: float = 0.0  # IEMOCAP: chance that an utterance has actor self-evaluations
    has_other: bool = True  # CREMA-D offers no "other" answer


#: Valence, arousal, dominance of each class on a 1-5 scale (mixed by the blend; rater lines
#: carry noisy, rounded copies, rescaled to the corpus's scale by the writers).
CLASS_VAD: dict[str, tuple[float, float, float]] = {
    "neutral": (3.0, 2.8, 3.0),
    "happiness": (4.3, 3.6, 3.3),
    "excitement": (4.2, 4.2, 3.5),
    "sadness": (1.8, 2.0, 2.2),
    "anger": (1.7, 4.3, 4.2),
    "frustration": (2.0, 3.4, 3.4),
    "fear": (1.8, 3.8, 2.0),
    "surprise": (3.4, 4.0, 3.0),
    "disgust": (1.8, 3.2, 3.4),
    "contempt": (2.0, 2.8, 3.8),
}


@dataclass(frozen=True)
class Vote:
    """One rater's answer for one utterance."""

    rater: int  # index into the corpus's rater pool
    labels: tuple[int, ...]  # chosen class indices, primary first; OTHER_TOKEN_INDEX = "other"
    vad: tuple[float, float, float]  # valence, arousal, dominance on a 1-5 scale (not rounded)
    kind: str = "evaluator"  # "evaluator" | "self"


@dataclass
class DesignedUtterance:
    """Latent truth and simulated votes of one utterance."""

    index: int
    dominant: int  # class index the blend is concentrated on
    scenario: str  # planned outcome, one of SCENARIOS
    blend: np.ndarray  # (C,) weights summing to 1
    duration_s: float
    votes: list[Vote] = field(default_factory=list)  # counted evaluator votes, then self-evals

    def counted_votes(self) -> list[Vote]:
        return [v for v in self.votes if v.kind == "evaluator"]


def min_utterances(n_classes: int, layout_minimum: int) -> int:
    """Smallest corpus for which every class can win MR/PR MIN_WINS_PER_CLASS times, every
    planned outcome occurs and the layout has what it needs (``layout_minimum``, e.g. one
    utterance per session and gender)."""
    return max(int(np.ceil(n_classes * MIN_WINS_PER_CLASS / 0.75)), layout_minimum, 20)


def plan_scenarios(
    fmt: CorpusFormat, n: int, rng: np.random.Generator, *, plan: OutcomePlan, setup: RaterSetup
) -> tuple[np.ndarray, np.ndarray]:
    """Dominant class and planned outcome per utterance (shuffled)."""
    n_classes = len(fmt.classes)
    n_all_other = max(1, round(plan.all_other * n)) if setup.has_other else 0
    n_rated = n - n_all_other
    n_tie = max(1, round(plan.tie * n_rated))
    n_major = max(n_classes * MIN_WINS_PER_CLASS, round(plan.majority * n_rated))
    # small corpora: the guaranteed majorities come first, ties give way to one plurality
    n_tie = max(1, min(n_tie, n - n_major - n_all_other - 1))
    n_plural = n - n_major - n_tie - n_all_other
    if n_plural < 1:
        raise ValueError(f"{fmt.name}: {n} utterances are too few to plan every vote outcome")
    scenario = np.repeat(np.array(SCENARIOS), [n_major, n_plural, n_tie, n_all_other]).astype(
        object
    )
    guaranteed = np.arange(n_classes * MIN_WINS_PER_CLASS) % n_classes
    dominant = np.concatenate([guaranteed, rng.integers(0, n_classes, n - guaranteed.size)])
    order = rng.permutation(n)
    return dominant[order], scenario[order]


def draw_blend(
    scenario: str,
    dominant: int,
    n_classes: int,
    rng: np.random.Generator,
    plan: OutcomePlan,
) -> np.ndarray:
    """A Dirichlet blend concentrated on 1-2 classes (3 for a planned plurality)."""
    others = np.delete(np.arange(n_classes), dominant)
    second, third = rng.choice(others, size=2, replace=False)
    alpha = np.full(n_classes, 0.1)
    if scenario in ("majority", "all_other"):
        alpha[dominant] += plan.majority_alpha
        if rng.random() < 0.5:
            alpha[second] += plan.second_alpha
    elif scenario == "plurality":
        lead = plan.plurality_lead
        alpha[[dominant, second, third]] += 30.0 * np.array(
            [lead, 0.52 * (1 - lead), 0.48 * (1 - lead)]
        )
    else:  # tie
        alpha[[dominant, second]] += 30.0 * np.array([0.5, 0.5])
    return rng.dirichlet(alpha)


def _draw_tokens(
    blend: np.ndarray, n_raters: int, tries: int, setup: RaterSetup, rng: np.random.Generator
) -> np.ndarray:
    """Candidate token sets, shape (tries, n_raters, 3): class index, OTHER_TOKEN_INDEX, or -2
    (no token)."""
    n_classes = blend.size
    shape = (tries, n_raters)
    tokens = np.full((*shape, 3), -2, dtype=np.int64)
    cdf = np.cumsum(blend)
    n_draws = 3 if setup.multi_select else 1
    picks = np.minimum(np.searchsorted(cdf, rng.random((*shape, n_draws))), n_classes - 1)
    noisy = rng.random((*shape, n_draws)) < setup.p_noise
    picks[noisy] = rng.integers(0, n_classes, int(noisy.sum()))
    tokens[..., 0] = picks[..., 0]
    if setup.multi_select:
        extra2 = rng.random(shape) < setup.p_second
        extra3 = extra2 & (rng.random(shape) < setup.p_third / max(setup.p_second, 1e-9))
        # a repeated tick of the same emotion is no extra token
        tokens[..., 1] = np.where(extra2 & (picks[..., 1] != picks[..., 0]), picks[..., 1], -2)
        ok3 = extra3 & (picks[..., 2] != picks[..., 0]) & (picks[..., 2] != tokens[..., 1])
        tokens[..., 2] = np.where(ok3, picks[..., 2], -2)
    if setup.has_other:
        other = rng.random(shape) < setup.p_other
        tokens[..., 0][other] = OTHER_TOKEN_INDEX
    return tokens


def vote_counts(tokens: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Valid votes per class (..., C) and "other" tokens (...) of token arrays (..., R, 3)."""
    flat = tokens.reshape(*tokens.shape[:-2], -1)
    counts = (flat[..., None] == np.arange(n_classes)).sum(axis=-2)
    return counts, (flat == OTHER_TOKEN_INDEX).sum(axis=-1)


def outcome(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(MR keeps, PR keeps, winner index or -1) for vote-count rows (..., C)."""
    n_valid = counts.sum(axis=-1)
    top = counts.max(axis=-1)
    n_top = (counts == top[..., None]).sum(axis=-1)
    pr = (n_valid > 0) & (n_top == 1)
    mr = (n_valid > 0) & (2 * top > n_valid)
    winner = np.where(pr, counts.argmax(axis=-1), -1)
    return mr, pr, winner


def _matches(scenario: str, dominant: int, counts: np.ndarray) -> np.ndarray:
    mr, pr, winner = outcome(counts)
    n_valid = counts.sum(axis=-1)
    if scenario == "majority":
        return mr & (winner == dominant)
    if scenario == "plurality":
        return pr & ~mr & (winner == dominant)
    if scenario == "tie":
        return (n_valid > 0) & ~pr
    return n_valid == 0


def _vad(blend: np.ndarray, classes: tuple[str, ...], n: int, rng: np.random.Generator):
    centre = blend @ np.array([CLASS_VAD[c] for c in classes])
    return np.clip(centre + rng.normal(0.0, 0.5, size=(n, 3)), 1.0, 5.0)


def design_corpus(
    fmt: FormatSpec,
    n: int,
    rng: np.random.Generator,
    *,
    plan: OutcomePlan,
    setup: RaterSetup,
) -> list[DesignedUtterance]:
    """Blends, planned outcomes (``plan``) and simulated votes (raters behaving as ``setup``)
    for ``n`` utterances of format ``fmt``; both settings are the format's demo writer's."""
    fmt = corpus_format(fmt)
    classes = fmt.classes
    n_classes = len(classes)
    pool = max(setup.pool_size, setup.max_raters + 1)
    dominant, scenario = plan_scenarios(fmt, n, rng, plan=plan, setup=setup)
    durations = np.round(rng.uniform(1.2, 3.8, n), 3)
    design: list[DesignedUtterance] = []
    for i in range(n):
        utt = DesignedUtterance(i, int(dominant[i]), str(scenario[i]), np.empty(0), durations[i])
        n_raters = int(rng.integers(setup.min_raters, setup.max_raters + 1))
        if utt.scenario == "plurality" and not setup.multi_select:
            # single-choice plurality without majority needs >= 4 raters
            n_raters = max(n_raters, plan.plurality_min_raters)
        tokens = None
        for _ in range(50):
            utt.blend = draw_blend(utt.scenario, utt.dominant, n_classes, rng, plan)
            if utt.scenario == "all_other":
                tokens = np.full((1, n_raters, 3), -2)
                tokens[..., 0] = OTHER_TOKEN_INDEX
                break
            candidates = _draw_tokens(utt.blend, n_raters, 128, setup, rng)
            hit = np.flatnonzero(
                _matches(utt.scenario, utt.dominant, vote_counts(candidates, n_classes)[0])
            )
            if hit.size:
                tokens = candidates[hit[:1]]
                break
        if tokens is None:  # pragma: no cover - probability far below 1e-12
            raise RuntimeError(
                f"{fmt.name}: could not simulate a {utt.scenario} vote for utterance {i}"
            )
        raters = rng.choice(pool, size=n_raters, replace=False)
        vads = _vad(utt.blend, classes, n_raters, rng)
        for r in range(n_raters):
            labels = tuple(int(x) for x in tokens[0, r] if x != -2)
            utt.votes.append(Vote(int(raters[r]), labels, tuple(vads[r])))
        if setup.p_self_eval and rng.random() < setup.p_self_eval:
            self_tokens = _draw_tokens(utt.blend, 1, 1, setup, rng)[0, 0]
            labels = tuple(int(x) for x in self_tokens if x != -2)
            utt.votes.append(Vote(-1, labels, tuple(_vad(utt.blend, classes, 1, rng)[0]), "self"))
        design.append(utt)
    return design


def _counted_tokens(design: list[DesignedUtterance], n_classes: int) -> tuple[np.ndarray, ...]:
    """Per utterance: valid votes per class (N, C) and "other" tokens (N,) of the counted
    (evaluator) votes."""
    counts = np.zeros((len(design), n_classes), dtype=np.int64)
    n_other = np.zeros(len(design), dtype=np.int64)
    for i, utt in enumerate(design):
        for vote in utt.counted_votes():
            for label in vote.labels:
                if label == OTHER_TOKEN_INDEX:
                    n_other[i] += 1
                else:
                    counts[i, label] += 1
    return counts, n_other


def summarise(fmt: FormatSpec, design: list[DesignedUtterance]) -> dict:
    """Counts the pipeline should find: utterances, counted tokens, "other" tokens, and how many
    utterances MR / PR / AR keep, with the winners per class (independent of the parsers)."""
    fmt = corpus_format(fmt)
    classes = fmt.classes
    counts, n_other = _counted_tokens(design, len(classes))
    n_self = sum(len(v.labels) for utt in design for v in utt.votes if v.kind != "evaluator")
    mr, pr, winner = outcome(counts)
    mr_wins = np.bincount(winner[mr], minlength=len(classes))
    pr_wins = np.bincount(winner[pr], minlength=len(classes))
    return {
        "format": fmt.name,
        "classes": list(classes),
        "n_utterances": len(design),
        "n_ratings": int(counts.sum() + n_other.sum()),
        "n_valid_votes": int(counts.sum()),
        "n_other_votes": int(n_other.sum()),
        "n_self_evaluation_votes": int(n_self),
        "n_mr_kept": int(mr.sum()),
        "n_pr_kept": int(pr.sum()),
        "n_ar_kept": int((counts.sum(axis=1) > 0).sum()),
        "mr_wins": {c: int(k) for c, k in zip(classes, mr_wins, strict=True)},
        "pr_wins": {c: int(k) for c, k in zip(classes, pr_wins, strict=True)},
    }


def check_summary(summary: dict) -> None:
    """Raise if the simulated votes miss a guarantee (every class wins MR and PR at least
    MIN_WINS_PER_CLASS times; MR keeps fewer than PR keeps fewer than all)."""
    fmt = summary["format"]
    for rule in ("mr", "pr"):
        short = [c for c, k in summary[f"{rule}_wins"].items() if k < MIN_WINS_PER_CLASS]
        if short:
            raise RuntimeError(f"{fmt}: classes {short} win {rule.upper()} too rarely")
    if not summary["n_mr_kept"] < summary["n_pr_kept"] < summary["n_utterances"]:
        raise RuntimeError(f"{fmt}: simulated votes do not give MR < PR < all: {summary}")


def design_table3(
    fmt: FormatSpec, design: list[DesignedUtterance]
) -> dict[str, tuple[float, float]]:
    """Table 3 row (rule -> data loss %, rating loss %) of simulated votes, computed with the
    pipeline's own definitions (:func:`serrules.labels.label_loss.label_loss`)."""
    import pandas as pd

    from serrules.base.classes import prefixed
    from serrules.labels.label_loss import label_loss

    fmt = corpus_format(fmt)
    classes = fmt.classes
    counts, n_other = _counted_tokens(design, len(classes))
    table = pd.DataFrame(counts, columns=prefixed("votes_", classes))
    table.insert(0, "utterance_id", [f"u{i}" for i in range(len(design))])
    table["n_other"] = n_other
    loss = label_loss(table, classes, fmt.name).set_index("rule")
    return {
        rule: (100 * float(loss.loc[rule, "data_loss"]), 100 * float(loss.loc[rule, "rating_loss"]))
        for rule in loss.index
    }
