"""MLAAD (Müller et al. 2024; v8 on Hugging Face) paired with its M-AILABS bona fide, one set per
language (docs/research/corpora.md §11).

MLAAD is spoof only: text-to-speech output in many languages, one folder per TTS system, each
with a `meta.csv`. Its texts (and, for voice-cloning systems, its reference voices) come from
M-AILABS, whose recordings are the bona fide side. Under `--db_root`:

    MLAAD/fake/<lang>/<model>/meta.csv        `|`-separated, a header naming at least
                                              path|original_file|language|model_name
    MLAAD/fake/<lang>/<model>/<clip>.wav      the clip that `path` names
    M-AILABS/<tag>/by_book/<gender>/<reader>/<book>/wavs/<file>.wav     16 kHz mono

`original_file` names the M-AILABS recording whose text the clip speaks, as a path under
M-AILABS (`de_DE/by_book/female/eva_k/grune_haus/wavs/grune_haus_01_f000002.wav`; a prefix
before the language tag is ignored). The pairing used here, for want of a published
MLAAD + M-AILABS trial list: the set of a language is every MLAAD clip of that language and,
as bona fide, every M-AILABS recording of that language that those clips name (each once).
Clips whose original is in another language (text translated from English) still count as
spoof of their language; their originals are not bona fide of it.

- Sets `mlaad_<lang>` for the M-AILABS languages de, en (en_UK and en_US), es, fr, it, pl, ru,
  uk, written for every language present in both trees.
- Ids `mlaad_<lang>_<model>_<clip>` (spoof; utt2spk the TTS system, utt2attack the system's
  folder name) and `mailabs_<tag>_<file>` (bona fide; utt2spk `<tag>_<reader>`); utt2lang the
  language. MLAAD's systems run at 16 to 48 kHz: files not at 16 kHz are listed as 16 kHz copies.
"""

from __future__ import annotations

import csv
import re
from operator import attrgetter
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from antispoof.corpora.audio_copies import at_16k
from antispoof.corpora.common import ProtocolError, write_data_dir
from antispoof.data.kaldi_files import open_text
from antispoof.labels import BONAFIDE_NAME, SPOOF_NAME

MLAAD_DIR = "MLAAD"  # relative to --db_root
MAILABS_DIR = "M-AILABS"
META = "meta.csv"
REQUIRED_COLUMNS = ("path", "original_file", "language", "model_name")
# MLAAD's language folder -> the M-AILABS releases of that language (their tags).
MAILABS_TAGS = {
    "de": ("de_DE",),
    "en": ("en_UK", "en_US"),
    "es": ("es_ES",),
    "fr": ("fr_FR",),
    "it": ("it_IT",),
    "pl": ("pl_PL",),
    "ru": ("ru_RU",),
    "uk": ("uk_UK",),
}
TAG = re.compile(r"[a-z]{2}_[A-Z]{2}")
UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def set_name(lang: str) -> str:
    return f"mlaad_{lang}"


class Trial(NamedTuple):
    utt: str
    audio: Path
    speaker: str
    label: str  # bonafide | spoof
    attack: str  # the TTS system's folder, or bonafide
    lang: str


def languages_present(db_root: Path) -> list[str]:
    """The languages of MAILABS_TAGS whose MLAAD folder exists under `db_root`."""
    return [lang for lang in MAILABS_TAGS if (db_root / MLAAD_DIR / "fake" / lang).is_dir()]


def mailabs_path(original_file: str) -> str | None:
    """`original_file` as a path under M-AILABS (from its language tag on), or None."""
    parts = PurePosixPath(original_file.replace("\\", "/")).parts
    for index, part in enumerate(parts):
        if TAG.fullmatch(part):
            return "/".join(parts[index:])
    return None


def parse_language(db_root: Path, lang: str) -> tuple[list[Trial], list[Trial]]:
    """The spoof clips of `lang` (every model's meta.csv) and the bona fide recordings they
    name; malformed rows are errors naming meta.csv:line."""
    lang_dir = db_root / MLAAD_DIR / "fake" / lang
    metas = sorted(lang_dir.glob(f"*/{META}"))
    if not metas:
        raise FileNotFoundError(f"{lang_dir}: no <model>/{META}")
    spoof: list[Trial] = []
    originals: dict[str, str] = {}  # M-AILABS path -> where first named
    seen: dict[str, str] = {}
    for meta in metas:
        model = meta.parent.name
        for where, row in _rows(meta):
            clip = PurePosixPath(row["path"].replace("\\", "/")).name
            utt = f"mlaad_{lang}_{UNSAFE.sub('_', model)}_{UNSAFE.sub('_', Path(clip).stem)}"
            if seen.setdefault(utt, where) != where:
                raise ProtocolError(f"{where}: clip {clip} already listed at {seen[utt]}")
            system = UNSAFE.sub("_", model)
            spoof.append(Trial(utt, meta.parent / clip, system, SPOOF_NAME, system, lang))
            original = mailabs_path(row["original_file"])
            if original is None:
                raise ProtocolError(
                    f"{where}: original_file {row['original_file']!r} names no M-AILABS "
                    "recording (no <ll>_<CC> language folder)"
                )
            if original.split("/")[0] in MAILABS_TAGS[lang]:
                originals.setdefault(original, where)
    bonafide = [_bonafide(db_root, original, lang) for original in sorted(originals)]
    return spoof, bonafide


def _rows(meta: Path):
    """(`meta.csv:line`, row) for each row of a `|`-separated meta.csv."""
    with open_text(meta, newline="") as handle:
        reader = csv.reader(handle, delimiter="|", quoting=csv.QUOTE_NONE)
        header = next(reader, None) or []
        missing = [column for column in REQUIRED_COLUMNS if column not in header]
        if missing:
            raise ProtocolError(f"{meta}:1: no column {', '.join(missing)} in {header!r}")
        for fields in reader:
            where = f"{meta}:{reader.line_num}"
            if len(fields) != len(header):
                raise ProtocolError(
                    f"{where}: {len(fields)} fields, the header has {len(header)} (a '|' in a "
                    "transcript?)"
                )
            yield where, dict(zip(header, fields, strict=True))


def _bonafide(db_root: Path, original: str, lang: str) -> Trial:
    parts = original.split("/")  # <tag>/by_book/<gender>/<reader>/<book>/wavs/<file>
    tag, reader = parts[0], parts[3] if len(parts) > 3 else parts[0]
    utt = f"mailabs_{tag}_{UNSAFE.sub('_', Path(parts[-1]).stem)}"
    speaker = f"{tag}_{UNSAFE.sub('_', reader)}"
    return Trial(utt, db_root / MAILABS_DIR / original, speaker, BONAFIDE_NAME, BONAFIDE_NAME, lang)


def missing_files(db_root: Path, languages: tuple[str, ...]) -> list[str]:
    """Stage 0's check of a copy: for each of `languages`, its MLAAD models with their clips
    and the M-AILABS recordings they name (one line per language that lacks some)."""
    problems = []
    for lang in languages:
        try:
            problems += _missing(db_root, lang, *parse_language(db_root, lang))
        except (OSError, ProtocolError) as err:
            problems.append(str(err))
    return problems


def _missing(db_root: Path, lang: str, spoof: list[Trial], bonafide: list[Trial]) -> list[str]:
    problems = []
    for kind, trials in (("MLAAD clips", spoof), ("M-AILABS recordings", bonafide)):
        missing = [str(t.audio.relative_to(db_root)) for t in trials if not t.audio.is_file()]
        if missing:
            problems.append(
                f"{lang}: {len(missing):,} of {len(trials):,} {kind} are missing "
                f"(e.g. {', '.join(missing[:3])})"
            )
    if not bonafide:
        problems.append(f"{lang}: no clip names an M-AILABS recording of {lang}")
    return problems


def prepare(db_root: Path, data_root: Path) -> dict[str, int]:
    """Write `data_root/mlaad_<lang>` for every language present; returns their sizes."""
    if not (db_root / MLAAD_DIR / "fake").is_dir():
        raise FileNotFoundError(
            f"{db_root / MLAAD_DIR / 'fake'} not found: is --db_root the directory that holds "
            f"{MLAAD_DIR}/ and {MAILABS_DIR}/?"
        )
    db_root = db_root.resolve()
    languages = languages_present(db_root)
    if not languages:
        raise FileNotFoundError(
            f"{db_root / MLAAD_DIR / 'fake'}: none of the M-AILABS languages "
            f"({', '.join(MAILABS_TAGS)})"
        )
    parsed = {lang: parse_language(db_root, lang) for lang in languages}
    problems = [problem for lang in languages for problem in _missing(db_root, lang, *parsed[lang])]
    if problems:
        raise FileNotFoundError(f"{db_root}: " + "; ".join(problems))
    sizes = {}
    for lang, (spoof, bonafide) in parsed.items():
        trials = bonafide + spoof
        out_dir = data_root / set_name(lang)
        audio = at_16k({t.utt: t.audio for t in trials}, out_dir / "wav16k")
        tables = {
            "wav.scp": lambda trial, audio=audio: str(audio[trial.utt]),
            "utt2spk": attrgetter("speaker"),
            "utt2label": attrgetter("label"),
            "utt2attack": attrgetter("attack"),
            "utt2lang": attrgetter("lang"),
            "utt2file": lambda trial: str(trial.audio.relative_to(db_root)),
        }
        write_data_dir(out_dir, trials, tables)
        sizes[set_name(lang)] = len(trials)
    return sizes
