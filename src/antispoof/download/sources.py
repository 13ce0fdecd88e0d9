"""The official sources of each corpus, as data (docs/research/corpora.md §1-§4).

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

No host here needs a login as far as docs/research/corpora.md records (DataShare, Zenodo and
asvspoof.org serve these files openly; the Hugging Face and owncloud copies are public links). A
host that answers 401/403, or a web page instead of the file, gets the user precise instructions
for a manual download, and the file they place is verified like a downloaded one.

Sizes and md5s: the two 2021 key tarballs have a published md5 (the 2021 eval-package README),
and every ASVspoof 5 archive (its README.txt). Zenodo shows an md5 per file on its record pages;
those of the 2021 records were not retrievable when this was written, so those archives, like
LA.zip and the In-the-Wild zip, are verified by reading the archive while unpacking it and by
the counts above.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class RemoteFile:
    name: str  # the file name in the download directory
    urls: tuple[str, ...]  # the official address first, then mirrors; tried in order
    md5: str | None = None  # the published checksum; None where none is published
    size: int | None = None  # the published size in bytes; None where none is published


@dataclass(frozen=True)
class FileList:
    """A protocol or key file: every entry names an audio file that must exist."""

    path: str  # relative to db_root
    count: int  # entries, not counting the header line
    audio_dir: str  # relative to db_root; holds `<entry><suffix>` for every entry
    column: int  # 0-based field holding the entry
    suffix: str = ".flac"
    delimiter: str | None = None  # None: runs of whitespace
    header: str | None = None  # the exact first line, for files that have one
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

SOURCES: dict[str, CorpusSource] = {
    source.name: source
    for source in (ASVSPOOF2019_LA, ASVSPOOF2021_LA, ASVSPOOF2021_DF, IN_THE_WILD, ASVSPOOF5)
}
