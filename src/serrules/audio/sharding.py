"""How the eGeMAPS extraction is split into shards: consecutive rows of the audio index,
``audio.egemaps_shard_utterances`` per shard (the last one shorter). Imports nothing heavy, so
the workflow reads it while it plans the DAG."""

from __future__ import annotations


def _check(n_rows: int, per_shard: int) -> None:
    if n_rows < 0 or per_shard < 1:
        raise ValueError(f"need n_rows >= 0 and per_shard >= 1, got {n_rows}, {per_shard}")


def egemaps_shard_count(n_rows: int, per_shard: int) -> int:
    """Number of shards for an audio index of ``n_rows`` rows (at least one, possibly empty)."""
    _check(n_rows, per_shard)
    return max(1, -(-n_rows // per_shard))


def shard_bounds(n_rows: int, per_shard: int, shard: int) -> tuple[int, int]:
    """Rows ``[start, stop)`` of the audio index that shard ``shard`` (0-based) covers."""
    n = egemaps_shard_count(n_rows, per_shard)
    if not 0 <= shard < n:
        raise ValueError(
            f"shard {shard} out of range: {n_rows} audio-index rows at {per_shard} per shard "
            f"give shards 0..{n - 1}"
        )
    return shard * per_shard, min(n_rows, (shard + 1) * per_shard)


__all__ = ["egemaps_shard_count", "shard_bounds"]
