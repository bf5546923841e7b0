"""Labels stage: vote aggregation (MR, PR, AR), fold assignment, the label tables and the data and
rating loss of each rule. May import the base and :mod:`serrules.corpora`."""
