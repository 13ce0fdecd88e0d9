"""A tiny two-class data directory (tones vs. noise) for fast training and scoring tests."""

from pathlib import Path

import numpy as np
import soundfile

from antispoof.data.kaldi_files import write_table


def make_toy_data_dir(root: Path, name: str, count: int, seed: int) -> Path:
    """`count` utterances of 0.5-2 s: bona fide = harmonic tones, spoof = filtered noise."""
    rng = np.random.default_rng(seed)
    data_dir = root / "data" / name
    audio_dir = root / "audio" / name
    audio_dir.mkdir(parents=True, exist_ok=True)
    tables: dict[str, dict[str, str]] = {
        k: {} for k in ("wav.scp", "utt2label", "utt2attack", "utt2spk")
    }
    for index in range(count):
        utt = f"{name}_{index:04d}"
        t = np.arange(int(16000 * rng.uniform(0.5, 2.0))) / 16000
        bonafide = index % 2 == 0
        if bonafide:
            f0 = rng.uniform(100, 250)
            signal = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6))
        else:
            signal = np.convolve(rng.standard_normal(t.size), np.ones(4) / 4, mode="same")
        path = audio_dir / f"{utt}.flac"
        soundfile.write(path, (0.2 * signal / np.abs(signal).max()).astype(np.float32), 16000)
        tables["wav.scp"][utt] = str(path)
        tables["utt2label"][utt] = "bonafide" if bonafide else "spoof"
        tables["utt2attack"][utt] = "bonafide" if bonafide else "A01"
        tables["utt2spk"][utt] = utt
    for file_name, table in tables.items():
        write_table(data_dir / file_name, table)
    write_table(data_dir / "spk2utt", tables["utt2spk"])
    return data_dir
