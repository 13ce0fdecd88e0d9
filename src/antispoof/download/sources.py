"""The official sources of each corpus, as data (docs/research/corpora.md §1-§5, §9-§13).

A `CorpusSource` lists the archives to fetch (URLs tried in order, the md5 where the publisher
gives one) and what the unpacked corpus must contain: protocol and key files with their
official line counts, each line naming an audio file that must exist. Tests pass a small
description of the same shape to check a tiny replica.

Layout under `<db_root>` once stage 0 is done (what stage 1 reads):

asvspoof2019_la (LA.zip, Edinburgh DataShare):
    LA/ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm.train.trn.txt   25,380 lines
    LA/ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm.dev.trl.txt     24,844 lines
    LA/ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm.eval.trl.txt    71,237 lines
    LA/ASVspoof2019_LA_{train,dev,eval}/flac/<utt>.flac
    LA/ASVspoof2019_LA_asv_scores/ASVspoof2019.LA.asv.{dev,eval}.gi.trl.scores.txt
    LA/ASVspoof2019_LA_asv_protocols/...

asvspoof2021_la (Zenodo 4837263 + LA-keys-full.tar.gz from asvspoof.org):
    ASVspoof2021_LA_eval/ASVspoof2021.LA.cm.eval.trl.txt                181,566 lines, 1 column
    ASVspoof2021_LA_eval/flac/<utt>.flac
    keys/LA/CM/trial_metadata.txt                                       181,566 lines, 8 fields
    keys/LA/ASV/trial_metadata.txt
    keys/LA/CM/<baseline>/score.txt, keys/LA/ASV/ASVTorch_Kaldi/score.txt,
    keys/LA/LA-C012-{eval,prog,hidden}.npy   (per the organisers' eval-package config.py)

asvspoof2021_df (Zenodo 4835108, four parts unpacked into one directory, + DF-keys-full.tar.gz):
    ASVspoof2021_DF_eval/ASVspoof2021.DF.cm.eval.trl.txt                611,829 lines, 1 column
    ASVspoof2021_DF_eval/flac/<utt>.flac
    keys/DF/CM/trial_metadata.txt                                       611,829 lines, 13 fields

in_the_wild (release_in_the_wild.zip, the authors' Hugging Face copy or Fraunhofer's owncloud):
    release_in_the_wild/meta.csv     header `file,speaker,label` + 31,779 lines
    release_in_the_wild/<n>.wav      (`file` holds the name with its .wav)

asvspoof5 (Zenodo 14498691: 18 tar parts of FLAC audio, each unpacking into its set's folder, +
ASVspoof5_protocols.tar.gz; md5s in the dataset's README.txt):
    ASVspoof5.train.tsv              182,357 lines, 10 fields   (at the top of db_root, or in
    ASVspoof5.dev.track_1.tsv        140,950 lines               ASVspoof5_protocols/ where a
    ASVspoof5.eval.track_1.tsv       680,774 lines               copy was unpacked that way)
    flac_T/<utt>.flac, flac_D/<utt>.flac, flac_E_eval/<utt>.flac

fake_or_real (for-norm.tar.gz, York University's share):
    for-norm/testing/{real,fake}/file<N>.wav_16k.wav_norm.wav_mono.wav_silence.wav
    (every file of the Arena's 4,528-trial key must exist; no list file in the release)

codecfake (Hugging Face rogertseng/CodecFake, 161 parquet shards at a pinned commit):
    metadata.csv                            707,872 rows path,label,speaker_id,codec_name
    <codec_name>/<speaker_id>/<file>        each row's audio, as stored; README.md, datalist.csv

mlaad (Hugging Face mueller91/MLAAD fake/<lang>/, and M-AILABS <tag>.tgz per language):
    MLAAD/fake/<lang>/<model>/{meta.csv,<clip>.wav}, MLAAD/README.md
    M-AILABS/<tag>/by_book/<gender>/<reader>/<book>/wavs/<file>.wav

spoofceleb (gated: obtained by hand, checked only):
    spoofceleb/metadata/{development,evaluation}.csv     55,741 and 91,130 rows
    spoofceleb/flac/{development,evaluation}/<file>

deepfake_eval_2024 (gated: obtained by hand, checked only):
    audio-metadata-publish.csv, audio-data/<Filename>

The archive hosts above need no login as far as docs/research/corpora.md records (DataShare,
Zenodo, asvspoof.org, York University and M-AILABS serve these files openly; the Hugging Face
and owncloud copies are public links). A host that answers 401/403, or a web page instead of the
file, gets the user precise instructions for a manual download, and the file they place is
verified like a downloaded one. Hugging Face repositories (HubFiles) may ask for a login; their
files are checked against the checksums the Hub lists (hub.py).

Sizes and md5s: the two 2021 key tarballs have a published md5 (the 2021 eval-package README),
and every ASVspoof 5 archive (its README.txt). Zenodo shows an md5 per file on its record pages;
those of the 2021 records were not retrievable when this was written, so those archives, like
LA.zip and the In-the-Wild zip, are verified by reading the archive while unpacking it and by
the counts above.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from antispoof.corpora import deepfake_eval_2024, fake_or_real, mlaad


@dataclass(frozen=True)
class RemoteFile:
    name: str  # the file name in the download directory
    urls: tuple[str, ...]  # the official address first, then mirrors; tried in order
    md5: str | None = None  # the published checksum; None where none is published
    size: int | None = None  # the published size in bytes; None where none is published
    into: str = ""  # the folder of db_root the archive unpacks into ("": db_root itself)


@dataclass(frozen=True)
class HubFiles:
    """Files of a Hugging Face dataset repository, fetched with huggingface_hub (hub.py).

    Every file is checked against the checksum the Hub lists for it: the sha256 of a large
    (LFS) file, the git blob id of a small one.
    """

    repo_id: str  # owner/name
    revision: str | None  # a commit; None: the default branch, resolved and recorded in .complete
    patterns: tuple[str, ...]  # fnmatch patterns of the repository paths to fetch
    into: str = ""  # the folder of db_root that holds the repository's tree
    parquet_audio: ParquetAudio | None = None  # parquet files: their audio extracted to files


@dataclass(frozen=True)
class ParquetAudio:
    """How the audio column of parquet files becomes files (unpack.extract_parquet_audio).

    Each row's `audio.bytes` is written, unchanged, to `<folders...>/<basename of audio.path>`
    (the folders are the row's values of `folders`), and one line per row, in file and row
    order, to the CSV `metadata`: the file's path (relative to the CSV), then `columns`.
    """

    folders: tuple[str, ...]
    columns: tuple[str, ...]
    metadata: str = "metadata.csv"


@dataclass(frozen=True)
class FileList:
    """A protocol or key file: every entry names an audio file that must exist."""

    path: str  # relative to db_root
    count: int | None  # entries, not counting the header line; None where none is published
    audio_dir: str  # relative to db_root; holds `<entry><suffix>` for every entry
    column: int  # 0-based field holding the entry (it may name a file in a subfolder)
    suffix: str = ".flac"
    delimiter: str | None = None  # None: runs of whitespace
    header: str | tuple[str, ...] | None = None  # the exact first line (or its known spellings)
    also_at: tuple[str, ...] = ()  # other places of the file (relative to db_root), tried after


@dataclass(frozen=True)
class CorpusSource:
    name: str
    title: str
    landing_page: str  # where a person downloads by hand
    layout: str  # what db_root holds, for error messages
    files: tuple[RemoteFile, ...]
    lists: tuple[FileList, ...]
    required: tuple[str, ...] = ()  # further files (relative to db_root) that must exist
    hub: tuple[HubFiles, ...] = ()  # files fetched from the Hugging Face Hub
    # Further checks of an unpacked copy: each returns what `root` lacks, one line per problem.
    checks: tuple[Callable[[Path], list[str]], ...] = ()
    # For a corpus that is never downloaded here (a gated release): the steps to obtain it.
    access: str = ""


def _zenodo(record: int, name: str) -> RemoteFile:
    # The record's download link, then the REST API's address of the same file.
    return RemoteFile(
        name,
        (
            f"https://zenodo.org/records/{record}/files/{name}?download=1",
            f"https://zenodo.org/api/records/{record}/files/{name}/content",
        ),
    )


_LA2019_PROTOCOLS = "LA/ASVspoof2019_LA_cm_protocols"

ASVSPOOF2019_LA = CorpusSource(
    name="asvspoof2019_la",
    title="ASVspoof 2019 LA",
    landing_page="https://datashare.ed.ac.uk/handle/10283/3336",
    layout="db_root holds LA/, the unpacked LA.zip",
    files=(
        RemoteFile(
            "LA.zip",
            (
                "https://datashare.ed.ac.uk/bitstream/handle/10283/3336/LA.zip?sequence=3&isAllowed=y",
            ),
        ),
    ),
    lists=tuple(
        FileList(
            f"{_LA2019_PROTOCOLS}/ASVspoof2019.LA.cm.{split}.txt",
            count,
            f"LA/ASVspoof2019_LA_{split.split('.')[0]}/flac",
            column=1,
        )
        for split, count in (("train.trn", 25_380), ("dev.trl", 24_844), ("eval.trl", 71_237))
    ),
    required=tuple(
        f"LA/ASVspoof2019_LA_asv_scores/ASVspoof2019.LA.asv.{split}.gi.trl.scores.txt"
        for split in ("dev", "eval")
    ),
)

ASVSPOOF2021_LA = CorpusSource(
    name="asvspoof2021_la",
    title="ASVspoof 2021 LA (evaluation)",
    landing_page="https://zenodo.org/records/4837263",
    layout="db_root holds ASVspoof2021_LA_eval/ and keys/LA/",
    files=(
        _zenodo(4837263, "ASVspoof2021_LA_eval.tar.gz"),
        RemoteFile(
            "LA-keys-full.tar.gz",
            ("https://www.asvspoof.org/asvspoof2021/LA-keys-full.tar.gz",),
            md5="f052cc2ed276745afa3b5198665d3b26",
        ),
    ),
    lists=(
        FileList(
            "ASVspoof2021_LA_eval/ASVspoof2021.LA.cm.eval.trl.txt",
            181_566,
            "ASVspoof2021_LA_eval/flac",
            column=0,
        ),
        FileList("keys/LA/CM/trial_metadata.txt", 181_566, "ASVspoof2021_LA_eval/flac", column=1),
    ),
    required=("keys/LA/ASV/trial_metadata.txt", "keys/LA/ASV/ASVTorch_Kaldi/score.txt"),
)

ASVSPOOF2021_DF = CorpusSource(
    name="asvspoof2021_df",
    title="ASVspoof 2021 DF (evaluation)",
    landing_page="https://zenodo.org/records/4835108",
    layout="db_root holds ASVspoof2021_DF_eval/, from all four parts, and keys/DF/",
    files=(
        *(_zenodo(4835108, f"ASVspoof2021_DF_eval_part0{part}.tar.gz") for part in range(4)),
        RemoteFile(
            "DF-keys-full.tar.gz",
            ("https://www.asvspoof.org/asvspoof2021/DF-keys-full.tar.gz",),
            md5="dabbc5628de4fcef53036c99ac7ab93a",
        ),
    ),
    lists=(
        FileList(
            "ASVspoof2021_DF_eval/ASVspoof2021.DF.cm.eval.trl.txt",
            611_829,
            "ASVspoof2021_DF_eval/flac",
            column=0,
        ),
        FileList("keys/DF/CM/trial_metadata.txt", 611_829, "ASVspoof2021_DF_eval/flac", column=1),
    ),
)

IN_THE_WILD = CorpusSource(
    name="in_the_wild",
    title="In-the-Wild",
    landing_page="https://deepfake-demo.aisec.fraunhofer.de/in_the_wild",
    layout="db_root holds release_in_the_wild/, the unpacked release_in_the_wild.zip",
    files=(
        RemoteFile(
            "release_in_the_wild.zip",
            (
                "https://huggingface.co/datasets/mueller91/In-The-Wild/resolve/main/release_in_the_wild.zip",
                "https://owncloud.fraunhofer.de/index.php/s/JZgXh0JEAF0elxa/download",
            ),
        ),
    ),
    lists=(
        FileList(
            "release_in_the_wild/meta.csv",
            31_779,
            "release_in_the_wild",
            column=0,
            suffix="",
            delimiter=",",
            header="file,speaker,label",
        ),
    ),
)

# The md5 of each ASVspoof 5 archive, from the README.txt of the Zenodo record
# (docs/research/corpora.md §5).
_ASVSPOOF5_MD5 = {
    "flac_T_aa.tar": "b0cc86b14826a7701b52aad4f53daf9c",
    "flac_T_ab.tar": "d05be3f4be7a343fdbdd0ed29fdff2e1",
    "flac_T_ac.tar": "70d1ba4ad75a20aef3dae541fbd321e3",
    "flac_T_ad.tar": "c9bb56af2cc410d98338d74babcb95c9",
    "flac_T_ae.tar": "a3969816982f3e52300d6147ad796df7",
    "flac_D_aa.tar": "df0be44957623991028cce59792beb17",
    "flac_D_ab.tar": "1e8cd685d89b64502692f1bcf1a13db3",
    "flac_D_ac.tar": "5e0031f08c30e4bdbf0c59f91b2d662b",
    "flac_E_aa.tar": "a8c800766f3d4ef87971e2b4f29663e2",
    "flac_E_ab.tar": "c35064188f54f07c87aba58de22534a0",
    "flac_E_ac.tar": "ed7cbcd1b2847998b72472ddf6b445e3",
    "flac_E_ad.tar": "626a080e994b05df49c577d7b3dede8d",
    "flac_E_ae.tar": "05f19a5e64fa556714ae1b38eb2ea70b",
    "flac_E_af.tar": "2ca2f52a3bbf827f7ec155ecb47e85d6",
    "flac_E_ag.tar": "671200b5de2fc1e74a563b07b057af8f",
    "flac_E_ah.tar": "eaf885b1299a61eb07f71e82e96dba37",
    "flac_E_ai.tar": "b2625683bf440abae2af901a45542ad9",
    "flac_E_aj.tar": "c50281c8233af6f3b0899604d21ade44",
    "ASVspoof5_protocols.tar.gz": "865d0e894ea9f686f0f37e5ae3ae3616",
}

ASVSPOOF5 = CorpusSource(
    name="asvspoof5",
    title="ASVspoof 5",
    landing_page="https://zenodo.org/records/14498691",
    layout="db_root holds flac_T/, flac_D/, flac_E_eval/ and the ASVspoof5.*.tsv protocols",
    files=tuple(replace(_zenodo(14498691, name), md5=md5) for name, md5 in _ASVSPOOF5_MD5.items()),
    lists=tuple(
        FileList(protocol, count, audio_dir, column=1, also_at=(f"ASVspoof5_protocols/{protocol}",))
        for protocol, count, audio_dir in (
            ("ASVspoof5.train.tsv", 182_357, "flac_T"),
            ("ASVspoof5.dev.track_1.tsv", 140_950, "flac_D"),
            ("ASVspoof5.eval.track_1.tsv", 680_774, "flac_E_eval"),
        )
    ),
)

FAKE_OR_REAL = CorpusSource(
    name="fake_or_real",
    title="Fake-or-Real (for-norm)",
    landing_page="https://bil.eecs.yorku.ca/datasets/",
    layout="db_root holds for-norm/, the unpacked for-norm.tar.gz",
    files=(
        RemoteFile(
            "for-norm.tar.gz",
            (
                "https://bil.eecs.yorku.ca/share/for-norm.tar.gz",
                "https://www.eecs.yorku.ca/~bil/Datasets/for-norm.tar.gz",
            ),
        ),
    ),
    lists=(),
    checks=(fake_or_real.missing_trials,),
)

CODECFAKE = CorpusSource(
    name="codecfake",
    title="CodecFake (Wu et al., Interspeech 2024)",
    landing_page="https://huggingface.co/datasets/rogertseng/CodecFake",
    layout=(
        "db_root holds metadata.csv and <codec_name>/<speaker_id>/<file>, the audio of the "
        "parquet release, with its README.md and datalist.csv"
    ),
    files=(),
    lists=(
        FileList(
            "metadata.csv",
            707_872,  # num_examples of the dataset card
            "",
            column=0,
            suffix="",
            delimiter=",",
            header="path,label,speaker_id,codec_name",
        ),
    ),
    required=("README.md", "datalist.csv"),
    hub=(
        HubFiles(
            "rogertseng/CodecFake",
            "ae224c9cff0e7a19edf885a670c2f7821711aed9",  # "add overview csv", the newest
            ("README.md", "datalist.csv", "data/train-*.parquet"),
            parquet_audio=ParquetAudio(
                folders=("codec_name", "speaker_id"),
                columns=("label", "speaker_id", "codec_name"),
            ),
        ),
    ),
)

SPOOFCELEB = CorpusSource(
    name="spoofceleb",
    title="SpoofCeleb",
    landing_page="https://huggingface.co/datasets/jungjee/spoofceleb",
    layout="db_root holds spoofceleb/{metadata,flac}/, the unpacked spoofceleb.tar.gz",
    files=(),
    lists=tuple(
        FileList(
            f"spoofceleb/metadata/{split}.csv",
            count,
            f"spoofceleb/flac/{split}",
            column=0,
            suffix="",
            delimiter=",",
            header=("file,speaker,attack", "path,speaker,attack"),
        )
        for split, count in (("development", 55_741), ("evaluation", 91_130))
    ),
    access=(
        "SpoofCeleb is gated on Hugging Face; the authors grant access:\n"
        "  1. log in at huggingface.co and ask for access on "
        "https://huggingface.co/datasets/jungjee/spoofceleb\n"
        "  2. once granted: hf auth login; then\n"
        "     hf download jungjee/spoofceleb --repo-type dataset --local-dir <downloads>\n"
        "  3. cat <downloads>/spoofceleb.tar.gz* > spoofceleb.tar.gz\n"
        "     tar -xzf spoofceleb.tar.gz -C <db_root>      # makes <db_root>/spoofceleb/"
    ),
)

DEEPFAKE_EVAL_2024 = CorpusSource(
    name="deepfake_eval_2024",
    title="Deepfake-Eval-2024 (audio)",
    landing_page="https://huggingface.co/datasets/nuriachandra/Deepfake-Eval-2024",
    layout="db_root holds audio-metadata-publish.csv and audio-data/<Filename>",
    files=(),
    lists=(),
    checks=(deepfake_eval_2024.missing_files,),
    access=(
        "Deepfake-Eval-2024 is gated on Hugging Face; the authors grant access on a form:\n"
        "  1. log in at huggingface.co and fill in the access form on "
        "https://huggingface.co/datasets/nuriachandra/Deepfake-Eval-2024 (institution, "
        "intended use)\n"
        "  2. once granted: hf auth login; then download its audio part into <db_root>:\n"
        "     hf download nuriachandra/Deepfake-Eval-2024 --repo-type dataset "
        "--local-dir <db_root>\n"
        "     (audio-metadata-publish.csv and the audio files, audio-data/<Filename>; the "
        "video and image parts are not used)"
    ),
)


def mlaad_source(languages: tuple[str, ...] = tuple(mlaad.MAILABS_TAGS)) -> CorpusSource:
    """MLAAD (Hugging Face, spoof) with the M-AILABS releases of `languages` (bona fide)."""
    unknown = sorted(set(languages) - set(mlaad.MAILABS_TAGS))
    if unknown or not languages:
        raise ValueError(
            f"MLAAD languages {', '.join(unknown) or '(none)'}: choose among "
            f"{', '.join(mlaad.MAILABS_TAGS)} (the languages of M-AILABS)"
        )
    tags = [tag for lang in languages for tag in mlaad.MAILABS_TAGS[lang]]
    return CorpusSource(
        name="mlaad",
        title=f"MLAAD with M-AILABS ({' '.join(languages)})",
        landing_page="https://huggingface.co/datasets/mueller91/MLAAD",
        layout=(
            "db_root holds MLAAD/fake/<lang>/<model>/ (Hugging Face) and "
            "M-AILABS/<tag>/by_book/ (the unpacked <tag>.tgz)"
        ),
        files=tuple(
            RemoteFile(
                f"{tag}.tgz",
                (
                    f"https://ics.tau-ceti.space/data/Training/stt_tts/{tag}.tgz",
                    f"https://data.solak.de/data/Training/stt_tts/{tag}.tgz",
                ),
                into=mlaad.MAILABS_DIR,
            )
            for tag in tags
        ),
        lists=(),
        required=(f"{mlaad.MLAAD_DIR}/README.md",),
        hub=(
            HubFiles(
                "mueller91/MLAAD",
                None,  # no commit recorded yet: the default branch, resolved into .complete
                ("README.md", *(f"fake/{lang}/*" for lang in languages)),
                into=mlaad.MLAAD_DIR,
            ),
        ),
        checks=(functools.partial(mlaad.missing_files, languages=tuple(languages)),),
    )


MLAAD = mlaad_source()

SOURCES: dict[str, CorpusSource] = {
    source.name: source
    for source in (
        ASVSPOOF2019_LA,
        ASVSPOOF2021_LA,
        ASVSPOOF2021_DF,
        IN_THE_WILD,
        ASVSPOOF5,
        FAKE_OR_REAL,
        CODECFAKE,
        SPOOFCELEB,
        DEEPFAKE_EVAL_2024,
        MLAAD,
    )
}
