"""Tiny replicas of the evaluation corpora in their real layouts, for the stage-1 tests.

Each builder writes, under a root, what stage 0 leaves there (the unpacked release, or the
copy a user obtained by hand) with a handful of short audio files at the corpus's own sample
rates and formats, and returns what stage 1 should make of it. Layouts and protocol formats:
docs/research/corpora.md §9-§13 and the modules under antispoof/corpora/.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile

from antispoof.corpora import fake_or_real, mlaad


def tone(seconds: float, rate: int, seed: int, channels: int = 1) -> np.ndarray:
    """Noise under a decaying tone: short, distinct per seed, within [-0.5, 0.5]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * (200 + seed % 300) * t) * np.exp(
        -t
    ) + 0.05 * rng.standard_normal(t.size)
    wave = wave.astype(np.float32)
    return wave if channels == 1 else np.stack([wave, 0.5 * wave], axis=1)


def write(path: Path, samples: np.ndarray, rate: int, **kwargs: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, samples, rate, **kwargs)
    return path


def wav_bytes(samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, subtype=subtype, format="WAV")
    return buffer.getvalue()


def fake_or_real_norm(root: Path) -> None:
    """for-norm/ with every file of the Arena's key (16 kHz PCM WAV, 0.02 s each), the fake that
    the key leaves out and one that the release lacks (number 2297 is in the key; 34 is not),
    and a file of each other split."""
    folder = root / fake_or_real.CORPUS_DIR
    clip = wav_bytes(np.zeros(320, dtype=np.float32), 16000)  # written once, copied 4,531 times
    for split in ("testing/real", "testing/fake", "training/real", "validation/real"):
        (folder / split).mkdir(parents=True, exist_ok=True)
    for trial in fake_or_real.arena_trials():
        (folder / trial.rel).write_bytes(clip)
    (folder / "testing/fake" / fake_or_real.FILE_NAME.format(number=34)).write_bytes(clip)
    for split in ("training", "validation"):
        (folder / split / "real" / fake_or_real.FILE_NAME.format(number=1)).write_bytes(clip)


# CodecFake: (codec_name, its rate) for each codec of the replica; genuine is VCTK at 48 kHz.
CODECFAKE_CODECS = {
    "genuine": 48000,
    "encodec_24khz": 24000,
    "SpeechTokenizer": 16000,
    "descript-audio-codec-44khz": 44100,
}
CODECFAKE_SPEAKERS = ("p225", "p226", "p227", "p228", "p229")  # p225: a training speaker


def codecfake_rows() -> list[dict]:
    """The parquet rows of the replica, in the release's columns: two sentences per speaker,
    each genuine and through every codec; WAV, and FLAC for SpeechTokenizer."""
    rows = []
    for seed, (codec, rate) in enumerate(CODECFAKE_CODECS.items()):
        for speaker in CODECFAKE_SPEAKERS:
            for sentence in (1, 2):
                name = f"{speaker}_{sentence:03d}"
                kind = "FLAC" if codec == "SpeechTokenizer" else "WAV"
                buffer = io.BytesIO()
                audio = tone(0.25, rate, seed * 100 + sentence)
                soundfile.write(buffer, audio, rate, format=kind, subtype="PCM_16")
                rows.append(
                    {
                        "audio": {"bytes": buffer.getvalue(), "path": f"{name}.{kind.lower()}"},
                        "label": "genuine" if codec == "genuine" else "spoofing",
                        "speaker_id": speaker,
                        "codec_name": codec,
                    }
                )
    return rows


def codecfake_unpacked(root: Path) -> None:
    """What stage 0 leaves: metadata.csv and <codec>/<speaker>/<file> (see test_download_hub)."""
    lines = ["path,label,speaker_id,codec_name"]
    for row in codecfake_rows():
        rel = f"{row['codec_name']}/{row['speaker_id']}/{row['audio']['path']}"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(row["audio"]["bytes"])
        lines.append(f"{rel},{row['label']},{row['speaker_id']},{row['codec_name']}")
    (root / "metadata.csv").write_text("\n".join(lines) + "\n")
    (root / "README.md").write_text("# CodecFake\n")
    (root / "datalist.csv").write_text("wav,label,speaker,codec\n")


# SpoofCeleb: (split, rows) with the release's paths a<attack>/<speaker>/<clip>.flac.
SPOOFCELEB_ROWS = {
    "development": [
        ("a00/id10318/YYsxcZ5saac-00002-006.flac", "id10318", "a00"),
        ("a06/id10318/YYsxcZ5saac-00002-006.flac", "id10318", "a06"),
        ("a07/id10326/NKOA_Q89wDM-00066-003.flac", "id10326", "a07"),
    ],
    "evaluation": [
        ("a00/id10270/5r0dWxy17C8-00001-001.flac", "id10270", "a00"),
        ("a00/id10271/1gtz-CUIygI-00002-004.flac", "id10271", "a00"),
        ("a09/id10270/5r0dWxy17C8-00001-001.flac", "id10270", "a09"),
        ("a12/id10271/1gtz-CUIygI-00002-004.flac", "id10271", "a12"),
        ("a18/id10271/x8lkW-Ti_2c-00010-002.flac", "id10271", "a18"),
    ],
    "train": [("a00/id11178/LAHad7VLKXw-00007-001.flac", "id11178", "a00")],
}


def spoofceleb_unpacked(root: Path, header: str = "file,speaker,attack") -> dict[str, list]:
    """spoofceleb/{metadata,flac}/ as the tarball unpacks, 16 kHz FLAC; returns the rows."""
    folder = root / "spoofceleb"
    for split, rows in SPOOFCELEB_ROWS.items():
        lines = [header, *(",".join(row) for row in rows)]
        (folder / "metadata").mkdir(parents=True, exist_ok=True)
        (folder / "metadata" / f"{split}.csv").write_text("\n".join(lines) + "\n")
        for number, (file, _, _) in enumerate(rows):
            write(folder / "flac" / split / file, tone(0.2, 16000, number), 16000, format="FLAC")
    return SPOOFCELEB_ROWS


# Deepfake-Eval-2024: (Filename, Finetuning Set, Ground Truth, seconds, rate, channels).
DFE_ROWS = [
    ("interview clip 01.mp3", "Test", "Fake", 9.5, 44100, 2),
    ("press-02.wav", "Test", "Real", 3.0, 16000, 1),
    ("podcast_03.wav", "Test", "Real", 13.2, 22050, 1),
    ("ad_04.mp3", "Train", "Fake", 2.0, 24000, 1),
    ("unsure_05.wav", "Test", "Unknown", 1.0, 16000, 1),  # left out, as AntiDeepfake does
    ("phone_06.m4a", "Test", "Real", 0.0, 0, 1),  # not decodable here: left out with a warning
]


def deepfake_eval_2024_copy(root: Path) -> None:
    """audio-metadata-publish.csv (with columns this code does not read) and audio-data/."""
    lines = ["Filename,Language,Finetuning Set,Ground Truth,Source"]
    for number, (name, split, truth, seconds, rate, channels) in enumerate(DFE_ROWS):
        quoted = f'"{name}"' if " " in name else name
        lines.append(f"{quoted},en,{split},{truth},site{number}")
        path = root / "audio-data" / name
        if name.endswith(".m4a"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00" + bytes(64))
        else:
            write(path, tone(seconds, rate, number, channels=channels), rate)
    (root / "audio-metadata-publish.csv").write_text("\n".join(lines) + "\n")


# MLAAD: two TTS systems per language (folder, rate), v8's meta.csv columns.
MLAAD_SYSTEMS = (("tts_models_multilingual_multi-dataset_bark", 24000), ("facebook_mms-tts", 16000))
MLAAD_HEADER = (
    "path|original_file|language|is_original_language|duration|training_data|model_name|"
    "architecture|transcript|reference_speaker"
)
MAILABS_BOOKS = {  # tag -> (gender, reader, book) of its replica recordings
    "de_DE": ("female", "eva_k", "grune_haus"),
    "en_UK": ("female", "elizabeth_klett", "jane_eyre"),
    "en_US": ("male", "elliot_miller", "pink_fairy_book"),
    "es_ES": ("female", "karen_savage", "angelina"),
    "fr_FR": ("male", "bernard", "les_mysteres"),
    "it_IT": ("female", "lisa_caputo", "malavoglia"),
    "pl_PL": ("female", "nina_brown", "w_pustyni"),
    "ru_RU": ("male", "minaev", "oblomov"),
    "uk_UK": ("female", "sumska", "lisova_pisnya"),
}


def mailabs_original(tag: str, number: int) -> str:
    gender, reader, book = MAILABS_BOOKS[tag]
    return f"{tag}/by_book/{gender}/{reader}/{book}/wavs/{book}_01_f{number:06d}.wav"


def mlaad_with_mailabs(root: Path) -> dict[str, tuple[int, int]]:
    """MLAAD/fake/<lang>/<system>/ and the M-AILABS recordings its clips name (plus one that no
    clip names, and a metadata.csv per book); returns (bona fide, spoof) per language."""
    expected = {}
    for lang_number, (lang, tags) in enumerate(mlaad.MAILABS_TAGS.items()):
        originals = [mailabs_original(tags[i % len(tags)], i + 1) for i in range(2)]
        spoof = 0
        for system, rate in MLAAD_SYSTEMS:
            folder = root / "MLAAD/fake" / lang / system
            rows = [MLAAD_HEADER]
            for clip, original in enumerate(originals, start=1):
                name = f"{system[:4]}_{lang}_{clip:03d}.wav"
                write(folder / name, tone(0.3, rate, lang_number * 10 + clip), rate)
                rows.append(
                    f"./fake/{lang}/{system}/{name}|{original}|{lang}|True|0.3|m-ailabs|"
                    f"{system}|{system.split('_')[0]}|text {clip}|"
                )
                spoof += 1
            if lang == "de" and system.startswith("facebook"):
                # Text translated from English: its original is not bona fide of German.
                name = f"{system[:4]}_de_translated.wav"
                write(folder / name, tone(0.3, rate, 99), rate)
                rows.append(
                    f"./fake/de/{system}/{name}|{mailabs_original('en_US', 9)}|de|False|0.3|"
                    f"m-ailabs|{system}|facebook|text|"
                )
                spoof += 1
            (folder / "meta.csv").write_text("\n".join(rows) + "\n")
        for original in {*originals, mailabs_original(tags[0], 50)}:
            write(root / "M-AILABS" / original, tone(0.4, 16000, len(original)), 16000)
        expected[lang] = (len(originals), spoof)
    write(root / "M-AILABS" / mailabs_original("en_US", 9), tone(0.4, 16000, 9), 16000)
    for tag, (gender, reader, book) in MAILABS_BOOKS.items():
        (root / "M-AILABS" / tag / "by_book" / gender / reader / book / "metadata.csv").write_text(
            f"{book}_01_f000001|text|text\n"
        )
    (root / "MLAAD/README.md").parent.mkdir(parents=True, exist_ok=True)
    (root / "MLAAD/README.md").write_text("---\nlicense: apache-2.0\n---\n")
    return expected
