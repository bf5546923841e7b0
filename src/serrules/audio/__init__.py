"""Audio and features stage: decoding and resampling, the per-corpus audio index, eGeMAPS
functionals. May import the base and :mod:`serrules.corpora`."""
