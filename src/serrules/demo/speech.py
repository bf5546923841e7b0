"""Synthetic speech-like audio whose prosody follows a latent blend of emotions.

Each utterance is a voiced harmonic signal: the harmonics of a time-varying f0 with a geometric
amplitude decay (the spectral tilt), gated on and off at a syllable-like rate (voiced nuclei,
short unvoiced fricative-noise bursts between them), plus a little background noise. Five prosodic
parameters depend on the emotions (one row per class in :data:`CLASS_PROSODY`, mixed linearly by
the blend weights); the speaker adds a base f0 (female speakers higher).

The harmonic series is summed in closed form: with ``z = rho * exp(i * phase)``,
``sum_{k=1..K} rho**k * sin(k * phase) = Im(z * (1 - z**K) / (1 - z))``, so the cost per sample
does not grow with the number of harmonics, and ``K`` is chosen per utterance to stay below the
Nyquist frequency.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from serrules.audio.loading import SAMPLE_RATE  # the demo writes audio at the pipeline's rate
from serrules.corpora.formats import FORMATS

MIN_DURATION_S = 1.0
MAX_DURATION_S = 4.0

#: Prosodic parameters, in the column order of :data:`CLASS_PROSODY`.
PROSODY_PARAMETERS: tuple[str, ...] = (
    "f0_shift_st",  # f0 level relative to the speaker's base, semitones
    "f0_range_st",  # peak-to-peak f0 excursion, semitones
    "loudness_db",  # level relative to neutral speech, dB
    "syllable_rate_hz",  # voiced nuclei per second
    "tilt_db_per_harmonic",  # amplitude decay from one harmonic to the next, dB (steeper = darker)
)

#: One prosody vector per emotion class (every class of every corpus format). High-arousal classes
#: (anger, happiness, excitement, surprise, fear) are higher, wider, louder, faster and flatter;
#: sadness is low, narrow, soft, slow and steep; neutral sits in the middle.
CLASS_PROSODY: dict[str, tuple[float, float, float, float, float]] = {
    "neutral": (0.0, 3.0, 0.0, 4.0, 3.0),
    "anger": (4.0, 7.0, 8.0, 5.4, 1.2),
    "happiness": (4.5, 8.0, 5.0, 5.0, 1.6),
    "excitement": (5.5, 9.0, 6.0, 5.8, 1.4),
    "surprise": (6.0, 10.0, 4.0, 4.6, 1.8),
    "fear": (5.0, 4.0, -2.0, 5.6, 2.4),
    "frustration": (1.5, 4.5, 3.0, 4.6, 2.2),
    "disgust": (-1.0, 3.5, 1.0, 3.4, 2.8),
    "contempt": (-1.5, 3.0, -1.0, 3.5, 3.0),
    "sadness": (-3.5, 1.5, -8.0, 2.8, 4.5),
}

_missing = {c for fmt in FORMATS.values() for c in fmt.classes} - set(CLASS_PROSODY)
if _missing:  # pragma: no cover - guards edits of the format records
    raise RuntimeError(f"CLASS_PROSODY lacks a prosody vector for: {sorted(_missing)}")

#: Base f0 range of a speaker, Hz, by gender letter.
SPEAKER_F0_RANGE_HZ: dict[str, tuple[float, float]] = {"F": (185.0, 235.0), "M": (100.0, 135.0)}

_HIGHEST_HARMONIC_HZ = 7_200.0  # keep the harmonic series below the 8 kHz Nyquist frequency
_REFERENCE_RMS = 0.06  # RMS of neutral speech, full scale = 1


def prosody_matrix(classes: tuple[str, ...] | list[str]) -> np.ndarray:
    """Rows of :data:`CLASS_PROSODY` for ``classes``, shape (C, len(PROSODY_PARAMETERS))."""
    return np.array([CLASS_PROSODY[c] for c in classes], dtype=np.float64)


def speaker_base_f0(gender: str, rng: np.random.Generator) -> float:
    """Draw a speaker's base f0 (Hz); 'Unknown' speakers draw a gender at random."""
    if gender not in SPEAKER_F0_RANGE_HZ:
        gender = "F" if rng.random() < 0.5 else "M"
    low, high = SPEAKER_F0_RANGE_HZ[gender]
    return float(rng.uniform(low, high))


@dataclass(frozen=True)
class AudioSpec:
    """What one synthetic utterance sounds like."""

    path: Path
    blend: np.ndarray  # (C,) emotion weights summing to 1, in the order of ``classes``
    classes: tuple[str, ...]
    base_f0_hz: float
    duration_s: float


def synthesize(spec: AudioSpec, rng: np.random.Generator) -> np.ndarray:
    """Synthesise one utterance; returns int16 samples at :data:`SAMPLE_RATE`."""
    if not MIN_DURATION_S <= spec.duration_s <= MAX_DURATION_S:
        raise ValueError(
            f"{spec.path}: duration {spec.duration_s} s outside "
            f"[{MIN_DURATION_S}, {MAX_DURATION_S}]"
        )
    shift, f0_range, loud_db, rate, tilt = spec.blend @ prosody_matrix(spec.classes)
    # Utterance-level variation around the class prototype.
    shift += rng.normal(0.0, 0.7)
    f0_range *= rng.uniform(0.85, 1.15)
    loud_db += rng.normal(0.0, 1.0)
    rate *= rng.uniform(0.9, 1.1)
    tilt = max(0.8, tilt + rng.normal(0.0, 0.2))

    n = int(round(spec.duration_s * SAMPLE_RATE))
    t = np.arange(n) / SAMPLE_RATE

    # f0 contour: two slow intonation components, declination, a little vibrato-like jitter.
    ph = rng.uniform(0.0, 2.0 * np.pi, size=3)
    contour = 0.6 * np.sin(2 * np.pi * 0.45 * t + ph[0]) + 0.4 * np.sin(2 * np.pi * 1.3 * t + ph[1])
    semitones = shift + 0.5 * f0_range * contour - 1.5 * t / spec.duration_s
    semitones += 0.15 * np.sin(2 * np.pi * 5.5 * t + ph[2])
    f0 = np.clip(spec.base_f0_hz * 2.0 ** (semitones / 12.0), 60.0, 500.0)
    phase = 2.0 * np.pi * np.cumsum(f0) / SAMPLE_RATE

    # Closed-form harmonic series with geometric decay rho per harmonic.
    n_harmonics = max(3, int(_HIGHEST_HARMONIC_HZ // f0.max()))
    rho = 10.0 ** (-tilt / 20.0)
    # phases wrapped in float64, the complex arithmetic in complex64 (4x fewer bytes to move)
    wrapped = np.mod(phase, 2.0 * np.pi).astype(np.float32)
    wrapped_k = np.mod(n_harmonics * phase, 2.0 * np.pi).astype(np.float32)
    z = np.float32(rho) * (np.cos(wrapped) + 1j * np.sin(wrapped)).astype(np.complex64)
    z_k = np.float32(rho**n_harmonics) * (np.cos(wrapped_k) + 1j * np.sin(wrapped_k))
    voiced = np.imag(z * (1.0 - z_k) / (1.0 - z)).astype(np.float64)
    voiced /= np.sqrt(np.mean(voiced**2)) + 1e-12

    # Syllable-like gating: voiced nuclei, with fricative bursts in some gaps.
    syl_phase = 2 * np.pi * np.cumsum(rate * (1.0 + 0.2 * np.sin(2 * np.pi * 0.3 * t + ph[0])))
    syl_phase = syl_phase / SAMPLE_RATE + rng.uniform(0, 2 * np.pi)
    s = np.sin(syl_phase)
    voicing = np.clip(1.6 * s + 0.4, 0.0, 1.0) ** 1.5
    burst_gate = np.clip(-2.5 * s - 1.8, 0.0, 1.0)
    noise = rng.standard_normal(n)
    fricative = noise.copy()
    fricative[1:] -= noise[:-1]  # first difference = high-pass noise
    signal = voicing * voiced + 0.35 * burst_gate * fricative

    # Onset/offset ramps, level, background noise.
    ramp = min(n // 4, int(0.08 * SAMPLE_RATE))
    envelope = np.ones(n)
    envelope[:ramp] = np.linspace(0.0, 1.0, ramp)
    envelope[n - ramp :] = np.linspace(1.0, 0.0, ramp)
    signal *= envelope
    signal *= _REFERENCE_RMS * 10.0 ** (loud_db / 20.0) / (np.sqrt(np.mean(signal**2)) + 1e-12)
    signal += 10.0 ** (-60.0 / 20.0) * noise[::-1]
    return np.round(np.clip(signal, -1.0, 1.0) * 32767.0).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray) -> None:
    """Write 16 kHz mono 16-bit PCM WAV with the canonical 44-byte header (no timestamps or
    extra chunks: the same samples always give the same bytes)."""
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise ValueError(f"{path}: expected 1-D int16 samples, got {samples.dtype} {samples.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(samples.astype("<i2").tobytes())


def render_audio(specs: list[AudioSpec], seed_sequence: np.random.SeedSequence) -> None:
    """Synthesise and write every utterance; each gets its own child random stream, so one
    utterance's audio does not depend on how many others are rendered before it."""
    for spec, child in zip(specs, seed_sequence.spawn(len(specs)), strict=True):
        write_wav(spec.path, synthesize(spec, np.random.default_rng(child)))
