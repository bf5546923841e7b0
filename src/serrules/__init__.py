"""serrules: multi-label speech emotion recognition under the MR, PR and AR aggregation rules."""

__version__ = "0.1.0"
