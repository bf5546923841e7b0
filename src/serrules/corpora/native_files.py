"""Where each format's annotation files lie in its release (relative to the release root): the
names the parsers open and the patterns the workflow declares as the label stage's inputs.

Kept apart from the parsers (which need pandas) so that the format records
(:mod:`serrules.corpora.formats`), and through them Snakemake's planning, import no pandas.
Where a release spells a file two ways, both are listed, the usual spelling first.
"""

from __future__ import annotations

#: IEMOCAP: one EmoEvaluation file per dialogue; hidden files are skipped.
IEMOCAP_ANNOTATION_GLOB = "Session*/dialog/EmoEvaluation/*.txt"

#: MSP-IMPROV: the rater annotations ("Evalution.txt" in some copies).
MSP_IMPROV_ANNOTATION_FILES = ("Evaluation.txt", "Evalution.txt")

#: MSP-PODCAST and BIIC-PODCAST: consensus labels (speaker, gender, split) and per-worker labels.
PODCAST_CONSENSUS_FILES = ("Labels/labels_consensus.csv", "Labels/labels_concensus.csv")
PODCAST_DETAILED_FILES = ("Labels/labels_detailed.csv", "Labels/labels_detailed.json")

#: CREMA-D: every response, the first-click responses, the official tabulation, demographics.
CREMA_D_RESPONSES_FILE = "finishedResponses.csv"
CREMA_D_FIRST_CLICK_FILE = "finishedEmoResponses.csv"
CREMA_D_TABULATED_FILE = "processedResults/tabulatedVotes.csv"
CREMA_D_DEMOGRAPHICS_FILE = "VideoDemographics.csv"

__all__ = [
    "CREMA_D_DEMOGRAPHICS_FILE",
    "CREMA_D_FIRST_CLICK_FILE",
    "CREMA_D_RESPONSES_FILE",
    "CREMA_D_TABULATED_FILE",
    "IEMOCAP_ANNOTATION_GLOB",
    "MSP_IMPROV_ANNOTATION_FILES",
    "PODCAST_CONSENSUS_FILES",
    "PODCAST_DETAILED_FILES",
]
