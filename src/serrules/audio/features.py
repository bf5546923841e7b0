"""eGeMAPSv02 functionals per utterance (openSMILE), cached per corpus in
``features/egemaps.parquet``, and the per-fold feature standardiser saved with the eGeMAPS model.

Audio goes through :func:`serrules.audio.loading.load_audio`, so the features see exactly the
signal the
networks are trained on (16 kHz mono, same resampling, same crop).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import opensmile
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from serrules.audio.loading import OK, SAMPLE_RATE, load_audio
from serrules.audio.sharding import shard_bounds
from serrules.base.files import atomic_path
from serrules.base.tables import check_table, read_table, write_parquet

log = logging.getLogger(__name__)

#: Number of eGeMAPSv02 functionals (the one home of this figure; the eGeMAPS model's default
#: input width).
N_EGEMAPS = 88
#: Key of the cache description stored in the Parquet file's key-value metadata.
CACHE_METADATA_KEY = b"serrules.egemaps"
_CACHE_VERSION = 1
#: Audio-index columns that identify an utterance's audio for cache reuse.
_FINGERPRINT = ("utterance_id", "audio_path", "sample_rate", "n_samples")
_MAX_NAMED = 10


def egemaps_extractor() -> opensmile.Smile:
    """openSMILE extractor for the 88 eGeMAPSv02 functionals of a whole signal."""
    return opensmile.Smile(
        feature_set=opensmile.FeatureSet.eGeMAPSv02,
        feature_level=opensmile.FeatureLevel.Functionals,
    )


def _empty_features(names: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype="float32") for name in names})
    frame.insert(0, "utterance_id", pd.Series(dtype="string"))
    return frame


def _ok_rows(
    audio_index: pd.DataFrame, source: str | os.PathLike[str] | None = None
) -> pd.DataFrame:
    """The ``status == "ok"`` rows; missing columns and repeated ids are named by the audio
    index's contract (:mod:`serrules.base.tables`)."""
    check_table(audio_index, "audio_index", columns=["audio_path", "status"], source=source)
    return audio_index[audio_index["status"] == OK]


def _egemaps_rows(paths: list[str], sample_rate: int, max_seconds: float | None) -> np.ndarray:
    """Functionals of ``paths`` in order (runs in a worker process or in the caller)."""
    smile = egemaps_extractor()
    values = np.empty((len(paths), N_EGEMAPS), dtype=np.float32)
    for i, path in enumerate(paths):
        signal = load_audio(path, sample_rate=sample_rate, max_seconds=max_seconds)
        row = smile.process_signal(signal, sample_rate)
        values[i] = row.to_numpy(dtype=np.float32).reshape(-1)
    return values


#: Utterances per task handed to a worker process (small enough to balance long and short files,
#: large enough that process start-up and pickling stay negligible).
_CHUNK = 64


def compute_egemaps(
    audio_index: pd.DataFrame,
    *,
    sample_rate: int = SAMPLE_RATE,
    max_seconds: float | None = None,
    workers: int = 1,
) -> pd.DataFrame:
    """eGeMAPSv02 functionals of every ``status == "ok"`` utterance of an audio index.

    Returns ``utterance_id`` + the 88 functionals (float32, openSMILE's column order), one row per
    ok utterance in index order. Audio is read with :func:`serrules.audio.loading.load_audio` (same
    resampling and crop as training). ``workers`` > 1 extracts in that many processes (the cores
    the job was given; results are the same as with one). A file that fails to load raises
    :class:`serrules.audio.loading.AudioError` naming it; non-finite functionals are kept and logged
    (:class:`FeatureStandardizer` refuses them, naming the utterances).
    """
    ok = _ok_rows(audio_index)
    names = list(egemaps_extractor().feature_names)
    if len(names) != N_EGEMAPS:
        raise RuntimeError(
            f"openSMILE eGeMAPSv02 returned {len(names)} functionals, expected {N_EGEMAPS}"
        )
    if ok.empty:
        return _empty_features(names)
    paths = ok["audio_path"].astype(str).tolist()
    ids = ok["utterance_id"].astype(str).tolist()
    chunks = [paths[i : i + _CHUNK] for i in range(0, len(paths), _CHUNK)]
    workers = max(1, min(int(workers), len(chunks)))
    bar = tqdm(total=len(paths), desc="eGeMAPS", unit="utt", mininterval=10.0, disable=None)
    parts: list[np.ndarray] = []
    if workers == 1:
        for chunk in chunks:
            parts.append(_egemaps_rows(chunk, sample_rate, max_seconds))
            bar.update(len(chunk))
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # fork: spawn/forkserver re-import the __main__ module, which under Snakemake's
        # script: directive is the rule's script itself (it would run again in each worker)
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = [
                pool.submit(_egemaps_rows, chunk, sample_rate, max_seconds) for chunk in chunks
            ]
            for chunk, future in zip(chunks, futures, strict=True):
                parts.append(future.result())
                bar.update(len(chunk))
    bar.close()
    values = np.concatenate(parts)
    features = pd.DataFrame(values, columns=names)
    features.insert(0, "utterance_id", pd.array(ids, dtype="string"))
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        log.warning(
            "eGeMAPS: %d utterance(s) with non-finite functionals: %s",
            int(bad.sum()),
            ", ".join(np.asarray(ids)[bad][:_MAX_NAMED]),
        )
    return features


def _cache_description(sample_rate: int, max_seconds: float | None) -> dict[str, Any]:
    return {
        "version": _CACHE_VERSION,
        "feature_set": "eGeMAPSv02/Functionals",
        "opensmile": opensmile.__version__,
        "sample_rate": int(sample_rate),
        "max_seconds": None if max_seconds is None else float(max_seconds),
    }


def _read_cache(path: Path, description: dict[str, Any], names: list[str]) -> pd.DataFrame | None:
    """Cached rows of ``path`` with their audio fingerprint columns, or None if not reusable."""
    try:
        meta = (pq.read_schema(path).metadata or {}).get(CACHE_METADATA_KEY)
        if meta is None:
            log.warning("eGeMAPS cache %s has no %s metadata; not reused", path, CACHE_METADATA_KEY)
            return None
        stored = json.loads(meta)
        settings = {k: stored.get(k) for k in description}
        if settings != description:
            log.warning(
                "eGeMAPS cache %s was computed with %s, now %s; not reused",
                path,
                settings,
                description,
            )
            return None
        cached = pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        log.warning("eGeMAPS cache %s unreadable (%s); not reused", path, exc)
        return None
    if list(cached.columns) != ["utterance_id", *names]:
        log.warning("eGeMAPS cache %s has other columns than eGeMAPSv02; not reused", path)
        return None
    audio = stored.get("audio", {})
    if any(len(audio.get(k, ())) != len(cached) for k in _FINGERPRINT[1:]):
        log.warning("eGeMAPS cache %s: audio fingerprint does not match its rows; not reused", path)
        return None
    for key in _FINGERPRINT[1:]:
        cached[f"_cache_{key}"] = audio[key]
    return cached


def _write_with_description(
    features: pd.DataFrame, fingerprint: pd.DataFrame, out_path: Path, description: dict[str, Any]
) -> None:
    meta = dict(description)
    meta["audio"] = {
        "audio_path": fingerprint["audio_path"].astype(str).tolist(),
        "sample_rate": [int(v) for v in fingerprint["sample_rate"]],
        "n_samples": [int(v) for v in fingerprint["n_samples"]],
    }
    with atomic_path(out_path) as tmp:
        write_parquet(features, tmp, metadata={CACHE_METADATA_KEY: json.dumps(meta).encode()})


def write_egemaps(
    audio_index_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    max_seconds: float | None = None,
    cache_path: str | os.PathLike[str] | None = None,
    sample_rate: int = SAMPLE_RATE,
    workers: int = 1,
) -> pd.DataFrame:
    """Compute (or reuse) the eGeMAPS functionals of a corpus and write ``egemaps.parquet``
    (``workers``: processes, see :func:`compute_egemaps`).

    Cache: the Parquet at ``cache_path`` (default: ``out_path`` itself, if it exists) stores in its
    metadata the settings (feature set, openSMILE version, ``sample_rate``, ``max_seconds``) and,
    per row, the ``audio_path``, native ``sample_rate`` and ``n_samples`` from the audio index. A
    cached row is reused when the settings are equal and its utterance has the same audio path,
    rate and length in the current index; every other ok utterance is computed. Rows of
    utterances no longer ok in the index are dropped (logged). Output rows follow index order.
    """
    audio_index_path, out_path = Path(audio_index_path), Path(out_path)
    ok = _ok_rows(read_table(audio_index_path, "audio_index", check=False), source=audio_index_path)
    names = list(egemaps_extractor().feature_names)
    description = _cache_description(sample_rate, max_seconds)
    source = Path(cache_path) if cache_path is not None else out_path
    cached = _read_cache(source, description, names) if source.is_file() else None

    fingerprint = ok[list(_FINGERPRINT)].reset_index(drop=True)
    fingerprint["utterance_id"] = fingerprint["utterance_id"].astype(str)
    reused = _empty_features(names)
    if cached is not None:
        cached["utterance_id"] = cached["utterance_id"].astype(str)
        cached = cached.drop_duplicates("utterance_id", keep="last")
        merged = fingerprint.merge(cached, on="utterance_id", how="inner")
        same_audio = (
            (merged["audio_path"].astype(str) == merged["_cache_audio_path"].astype(str))
            & (merged["sample_rate"].astype("int64") == merged["_cache_sample_rate"])
            & (merged["n_samples"].astype("int64") == merged["_cache_n_samples"])
        )
        reused = merged.loc[same_audio, ["utterance_id", *names]]
        stale = len(cached) - len(reused)
        log.info(
            "eGeMAPS cache %s: reusing %d rows; %d cached rows not reused (audio changed or "
            "utterance not ok in %s)",
            source,
            len(reused),
            stale,
            audio_index_path,
        )
    todo = ok[~ok["utterance_id"].astype(str).isin(set(reused["utterance_id"]))]
    log.info("eGeMAPS: computing %d of %d utterances", len(todo), len(ok))
    fresh = compute_egemaps(todo, sample_rate=sample_rate, max_seconds=max_seconds, workers=workers)
    parts = [p for p in (reused, fresh) if len(p)]
    if parts:
        features = pd.concat(parts, ignore_index=True)
    else:
        features = _empty_features(names)
    order = pd.Index(features["utterance_id"].astype(str)).get_indexer(fingerprint["utterance_id"])
    if (order < 0).any():  # cannot happen unless the index holds duplicated utterance ids
        raise RuntimeError(f"{audio_index_path}: eGeMAPS rows missing for some ok utterances")
    features = features.iloc[order].reset_index(drop=True)
    features["utterance_id"] = features["utterance_id"].astype("string")
    features[names] = features[names].astype(np.float32)
    _write_with_description(features, fingerprint, out_path, description)
    return features


def _shard_description(
    sample_rate: int, max_seconds: float | None, bounds: tuple[int, int], n_rows: int
) -> dict[str, Any]:
    return {
        **_cache_description(sample_rate, max_seconds),
        "shard": {"start": bounds[0], "stop": bounds[1], "index_rows": n_rows},
    }


def write_egemaps_shard(
    audio_index_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    shard: int,
    per_shard: int,
    max_seconds: float | None = None,
    sample_rate: int = SAMPLE_RATE,
    workers: int = 1,
) -> pd.DataFrame:
    """eGeMAPS functionals of one shard: the ok utterances among the audio index's rows
    :func:`serrules.audio.sharding.shard_bounds` gives shard ``shard`` (0-based) at ``per_shard``
    rows per shard. The table has the layout of ``egemaps.parquet`` (its rows, in index order,
    and the same metadata plus the shard's rows); :func:`gather_egemaps` joins the shards."""
    audio_index_path = Path(audio_index_path)
    index = read_table(audio_index_path, "audio_index", check=False)
    bounds = shard_bounds(len(index), per_shard, shard)
    _ok_rows(index, source=audio_index_path)  # the whole index's contract (repeated ids)
    part = index.iloc[bounds[0] : bounds[1]]
    ok = part[part["status"] == OK]
    log.info(
        "eGeMAPS shard %d: rows %d-%d of %s, %d ok utterances",
        shard,
        bounds[0],
        bounds[1] - 1,
        audio_index_path,
        len(ok),
    )
    features = compute_egemaps(
        ok, sample_rate=sample_rate, max_seconds=max_seconds, workers=workers
    )
    fingerprint = ok[list(_FINGERPRINT)].reset_index(drop=True)
    description = _shard_description(sample_rate, max_seconds, bounds, len(index))
    _write_with_description(features, fingerprint, Path(out_path), description)
    return features


def _read_shard(path: Path, description: dict[str, Any]) -> tuple[pa.Table, dict[str, Any]]:
    """A shard's table and stored description; settings other than ``description``'s raise
    ``ValueError`` naming the file."""
    table = pq.read_table(path)
    meta = (table.schema.metadata or {}).get(CACHE_METADATA_KEY)
    if meta is None:
        raise ValueError(f"{path}: not an eGeMAPS shard (no {CACHE_METADATA_KEY!r} metadata)")
    stored = json.loads(meta)
    settings = {k: stored.get(k) for k in description}
    if settings != description or "shard" not in stored:
        raise ValueError(f"{path}: computed with {settings}, this run uses {description}")
    return table, stored


def gather_egemaps(
    audio_index_path: str | os.PathLike[str],
    shard_paths: list[str | os.PathLike[str]],
    out_path: str | os.PathLike[str],
    *,
    max_seconds: float | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> None:
    """Join the shards of :func:`write_egemaps_shard` (in shard order) into ``egemaps.parquet``:
    the same table and metadata as an unsharded :func:`write_egemaps`. The shards must cover the
    audio index's rows once, in order, and hold exactly its ok utterances; otherwise
    ``ValueError`` names the shard."""
    audio_index_path = Path(audio_index_path)
    index = read_table(
        audio_index_path, "audio_index", columns=list(_FINGERPRINT) + ["status"], check=False
    )
    ok = _ok_rows(index, source=audio_index_path)
    description = _cache_description(sample_rate, max_seconds)
    tables, fingerprint, at = [], {k: [] for k in _FINGERPRINT[1:]}, 0
    for path in map(Path, shard_paths):
        table, stored = _read_shard(path, description)
        start, stop, rows = (stored["shard"][k] for k in ("start", "stop", "index_rows"))
        if (start, rows) != (at, len(index)):
            raise ValueError(
                f"{path}: covers rows {start}-{stop - 1} of an index of {rows} rows; expected "
                f"rows from {at} of {audio_index_path} ({len(index)} rows)"
            )
        pandas_meta = {
            k: v for k, v in (table.schema.metadata or {}).items() if k != CACHE_METADATA_KEY
        }
        tables.append(table.replace_schema_metadata(pandas_meta))
        for key in fingerprint:
            fingerprint[key].extend(stored["audio"][key])
        at = stop
    if at != len(index):
        raise ValueError(f"shards cover rows 0-{at - 1} of {audio_index_path} ({len(index)} rows)")
    features = pa.concat_tables(tables).to_pandas() if tables else None
    ids = ok["utterance_id"].astype(str).tolist()
    if features is None or features["utterance_id"].astype(str).tolist() != ids:
        raise ValueError(f"the shards' utterances are not the ok utterances of {audio_index_path}")
    _write_with_description(features, pd.DataFrame(fingerprint), Path(out_path), description)


def standard_scaling(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, scale)`` per column of ``values`` (float64, finite) as scikit-learn's
    ``StandardScaler().fit`` computes them on a first, unweighted fit: the mean, the population
    variance by the corrected two-pass sum (Chan, Golub & LeVeque; ``_incremental_mean_and_var``),
    ``scale = sqrt(var)``, and a near-constant column (``var <= n*eps*var + (n*mean*eps)**2``,
    scikit-learn's ``_is_constant_feature``) gets scale 1.

    Hand-written instead of calling scikit-learn: importing ``sklearn.preprocessing`` (it pulls
    in scipy.stats) was about a quarter of the CPU time of a demo eGeMAPS training job, in every
    fold. tests/test_features.py checks it against ``StandardScaler`` (rtol 1e-12: another code
    path).
    """
    n = values.shape[0]
    mean = np.sum(values, axis=0) / n
    centred = values - mean
    correction = np.sum(centred, axis=0)
    centred **= 2
    var = (np.sum(centred, axis=0) - correction**2 / n) / n
    eps = np.finfo(np.float64).eps
    constant = var <= n * eps * var + (n * mean * eps) ** 2
    scale = np.sqrt(var)
    scale[constant] = 1.0
    return mean, scale


class FeatureStandardizer:
    """Per-column z-scoring fitted on a training part: ``(x - mean) / std`` in float64, the mean
    and std as scikit-learn's ``StandardScaler`` computes them (:func:`standard_scaling`).

    ``std`` is the population standard deviation (ddof = 0); a constant column (std 0, up to
    float rounding: scikit-learn's bound) gets std 1, so it maps to 0. Inputs are DataFrames of
    features with an optional ``utterance_id`` column (kept as is); rows with NaN or infinite
    features raise a ``ValueError`` naming their utterance ids. The state (columns, mean, std) is
    what the eGeMAPS model stores (:mod:`serrules.training.models.storage`).
    """

    def __init__(self) -> None:
        self.columns: list[str] | None = None
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    @staticmethod
    def _feature_columns(frame: pd.DataFrame) -> list[str]:
        return [c for c in frame.columns if c != "utterance_id"]

    @staticmethod
    def _values(frame: pd.DataFrame, columns: list[str], what: str) -> np.ndarray:
        values = frame[columns].to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            ids = frame["utterance_id"] if "utterance_id" in frame.columns else frame.index
            named = ", ".join(map(str, np.asarray(ids)[bad][:_MAX_NAMED]))
            bad_cols = np.asarray(columns)[~np.isfinite(values).all(axis=0)].tolist()
            raise ValueError(
                f"{what}: {int(bad.sum())} utterance(s) with NaN/infinite features "
                f"(columns {', '.join(bad_cols[:_MAX_NAMED])}): {named}"
            )
        return values

    def fit(self, features: pd.DataFrame) -> FeatureStandardizer:
        """Learn mean and std of every feature column of the training part."""
        columns = self._feature_columns(features)
        if not columns:
            raise ValueError("FeatureStandardizer.fit: no feature columns")
        if len(features) == 0:
            raise ValueError("FeatureStandardizer.fit: no rows")
        values = self._values(features, columns, "FeatureStandardizer.fit")
        self.mean, self.std = standard_scaling(values)
        self.columns = columns
        return self

    def transform(self, features: pd.DataFrame) -> pd.DataFrame:
        """Standardised copy (float32, fitted column order; ``utterance_id`` first if present)."""
        if self.columns is None or self.mean is None or self.std is None:
            raise RuntimeError("FeatureStandardizer: call fit() or load_state_dict() first")
        missing = [c for c in self.columns if c not in features.columns]
        if missing:
            raise ValueError(
                f"FeatureStandardizer.transform: missing {len(missing)} fitted column(s): "
                f"{', '.join(missing[:_MAX_NAMED])}"
            )
        values = self._values(features, self.columns, "FeatureStandardizer.transform")
        out = pd.DataFrame(
            ((values - self.mean) / self.std).astype(np.float32),
            columns=self.columns,
            index=features.index,
        )
        if "utterance_id" in features.columns:
            out.insert(0, "utterance_id", features["utterance_id"])
        return out

    def fit_transform(self, features: pd.DataFrame) -> pd.DataFrame:
        """:meth:`fit` then :meth:`transform` on the same frame."""
        return self.fit(features).transform(features)

    def state_dict(self) -> dict[str, Any]:
        """``{"columns": list[str], "mean": float64 array, "std": float64 array}`` (copies)."""
        if self.columns is None or self.mean is None or self.std is None:
            raise RuntimeError("FeatureStandardizer: nothing fitted to save")
        return {"columns": list(self.columns), "mean": self.mean.copy(), "std": self.std.copy()}

    def load_state_dict(self, state: Mapping[str, Any]) -> FeatureStandardizer:
        """Restore a :meth:`state_dict` (arrays may be numpy arrays, tensors or lists)."""
        missing = [k for k in ("columns", "mean", "std") if k not in state]
        if missing:
            raise KeyError(f"FeatureStandardizer state: missing key(s) {', '.join(missing)}")
        columns = [str(c) for c in state["columns"]]
        mean = np.asarray(state["mean"], dtype=np.float64).reshape(-1)
        std = np.asarray(state["std"], dtype=np.float64).reshape(-1)
        if not len(columns) == len(mean) == len(std):
            raise ValueError(
                f"FeatureStandardizer state: {len(columns)} columns, {len(mean)} means, "
                f"{len(std)} stds"
            )
        if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            raise ValueError("FeatureStandardizer state: mean/std must be finite, std > 0")
        self.columns, self.mean, self.std = columns, mean.copy(), std.copy()
        return self
