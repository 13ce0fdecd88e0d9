"""Stage 0 for corpora on the Hugging Face Hub and for corpora obtained by hand.

A `FolderHub` client serves a dataset repository from a folder, with the checksums the Hub
lists (sha256 of large files, git blob ids of small ones), so that resolving the revision,
choosing the files, verifying, resuming, refusals and unpacking (parquet audio extracted to
files) run as with the Hub. huggingface_hub itself is not exercised here.
"""

from __future__ import annotations

import csv
import hashlib
import io
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from antispoof.bin import get_corpus as get_corpus_cli
from antispoof.corpora import codecfake, mlaad
from antispoof.data.kaldi_files import read_table
from antispoof.download import ChecksumError, LayoutError, ManualDownloadError
from antispoof.download.corpus import get_corpus
from antispoof.download.hub import HubEntry, fetch_hub, local_dir
from antispoof.download.sources import (
    SOURCES,
    CorpusSource,
    FileList,
    HubFiles,
    ParquetAudio,
    mlaad_source,
)
from antispoof.download.unpack import staging_dir
from eval_corpora_replicas import (
    codecfake_rows,
    deepfake_eval_2024_copy,
    mailabs_original,
    mlaad_with_mailabs,
    spoofceleb_unpacked,
)
from test_download import FAST, server, tar_gz_bytes  # noqa: F401 (server: the HTTP fixture)

COMMIT = "ae224c9cff0e7a19edf885a670c2f7821711aed9"
REPO = Path(__file__).resolve().parents[1]


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass
class FolderHub:
    """A Hub client over {repo_id: {path: bytes}}; files over `large` bytes are 'LFS' files."""

    repos: dict[str, dict[str, bytes]]
    large: int = 1000
    refuse: set[str] = field(default_factory=set)  # repos answering as gated
    tamper: set[str] = field(default_factory=set)  # paths served with a changed byte
    downloads: list[str] = field(default_factory=list)
    resolved: list[tuple[str, str | None]] = field(default_factory=list)

    def resolve(self, repo_id: str, revision: str | None) -> str:
        self.resolved.append((repo_id, revision))
        self._check(repo_id)
        return revision or COMMIT

    def list_files(self, repo_id: str, commit: str) -> list[HubEntry]:
        self._check(repo_id)
        return [
            HubEntry(
                path,
                len(data),
                hashlib.sha256(data).hexdigest() if len(data) > self.large else None,
                None if len(data) > self.large else git_blob_id(data),
            )
            for path, data in self.repos[repo_id].items()
        ]

    def download(self, repo_id: str, commit: str, path: str, local: Path) -> Path:
        self._check(repo_id)
        self.downloads.append(path)
        data = self.repos[repo_id][path]
        if path in self.tamper:
            data = data[:-1] + bytes([data[-1] ^ 1])
        target = local / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return target

    def _check(self, repo_id: str) -> None:
        from antispoof.download import DownloadError

        if repo_id in self.refuse:
            raise DownloadError(f"huggingface.co/datasets/{repo_id}: the repository is gated")


def parquet_bytes(rows: list[dict]) -> bytes:
    """The rows as a parquet file with CodecFake's columns (skips the test without pyarrow)."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    audio = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    schema = pa.schema(
        [
            ("audio", audio),
            ("label", pa.string()),
            ("speaker_id", pa.string()),
            ("codec_name", pa.string()),
        ]
    )
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), buffer, row_group_size=2)
    return buffer.getvalue()


def row(path: str, label: str, speaker: str, codec: str) -> dict:
    audio = {"bytes": f"RIFF {codec} {speaker} {path}".encode() * 8, "path": path}
    return {"audio": audio, "label": label, "speaker_id": speaker, "codec_name": codec}


# The rows of the two parquet shards of codec_repo(), in the real columns.
SHARD_0 = [
    row("p225_001.wav", "genuine", "p225", "genuine"),
    row("p225_001.wav", "spoofing", "p225", "encodec_24khz"),
    row("p227_002.wav", "spoofing", "p227", "encodec_24khz"),
]
SHARD_1 = [
    row("p227_002.wav", "genuine", "p227", "genuine"),
    row("p228_003.flac", "spoofing", "p228", "SpeechTokenizer"),
]


def codec_repo() -> dict[str, bytes]:
    return {
        "README.md": b"---\nlicense: cc-by-4.0\n---\n# CodecFake\n",
        ".gitattributes": b"*.parquet filter=lfs\n",
        "datalist.csv": b"a,b,c,d\n" * 40,
        "data/train-00000-of-00002.parquet": parquet_bytes(SHARD_0),
        "data/train-00001-of-00002.parquet": parquet_bytes(SHARD_1),
    }


SPEC = ParquetAudio(
    folders=("codec_name", "speaker_id"), columns=("label", "speaker_id", "codec_name")
)
PARQUET_SOURCE = CorpusSource(
    name="parquet_test",
    title="a parquet corpus",
    landing_page="https://huggingface.co/datasets/owner/codecs",
    layout="db_root holds metadata.csv and <codec>/<speaker>/<file>",
    files=(),
    lists=(
        FileList(
            "metadata.csv",
            5,
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
            "owner/codecs",
            COMMIT,
            ("README.md", "datalist.csv", "data/*.parquet"),
            parquet_audio=SPEC,
        ),
    ),
)


def test_parquet_audio_is_extracted_to_files_with_a_metadata_table(tmp_path):
    hub = FolderHub({"owner/codecs": codec_repo()})
    db_root = tmp_path / "db" / "codecs"
    get_corpus(PARQUET_SOURCE, db_root, hub_client=hub)

    assert (
        (db_root / ".complete")
        .read_text()
        .startswith(f"parquet_test: huggingface.co/datasets/owner/codecs@{COMMIT}\n")
    )
    with (db_root / "metadata.csv").open(newline="") as handle:
        table = list(csv.reader(handle))
    assert table == [
        ["path", "label", "speaker_id", "codec_name"],
        ["genuine/p225/p225_001.wav", "genuine", "p225", "genuine"],
        ["encodec_24khz/p225/p225_001.wav", "spoofing", "p225", "encodec_24khz"],
        ["encodec_24khz/p227/p227_002.wav", "spoofing", "p227", "encodec_24khz"],
        ["genuine/p227/p227_002.wav", "genuine", "p227", "genuine"],
        ["SpeechTokenizer/p228/p228_003.flac", "spoofing", "p228", "SpeechTokenizer"],
    ]
    assert (db_root / "SpeechTokenizer/p228/p228_003.flac").read_bytes() == SHARD_1[1]["audio"][
        "bytes"
    ]
    assert (db_root / "README.md").read_bytes() == codec_repo()["README.md"]
    assert not (db_root / "data").exists() and not (db_root / ".gitattributes").exists()
    downloads = local_dir(tmp_path / "db" / "downloads", "owner/codecs")
    assert (downloads / "data/train-00001-of-00002.parquet").is_file()  # kept, may be deleted
    assert not staging_dir(db_root).exists()
    assert hub.resolved == [("owner/codecs", COMMIT)]


def test_verified_downloads_are_not_fetched_again(tmp_path):
    hub = FolderHub({"owner/codecs": codec_repo()})
    downloads = tmp_path / "downloads"
    files = PARQUET_SOURCE.hub[0]
    fetch_hub(files, downloads, hub)
    assert sorted(hub.downloads) == sorted(
        ["README.md", "datalist.csv", *(p for p in codec_repo() if p.endswith(".parquet"))]
    )
    hub.downloads.clear()
    partial = local_dir(downloads, "owner/codecs") / "data/train-00000-of-00002.parquet"
    partial.write_bytes(partial.read_bytes()[:10])  # an interrupted download
    fetched = fetch_hub(files, downloads, hub)
    assert hub.downloads == ["data/train-00000-of-00002.parquet"]
    assert fetched.commit == COMMIT and len(fetched.paths) == 4


@pytest.mark.parametrize("path", ["datalist.csv", "data/train-00001-of-00002.parquet"])
def test_a_file_that_differs_from_the_hub_checksum_is_moved_aside(path, tmp_path):
    # datalist.csv is checked by its git blob id, the parquet file by its sha256.
    hub = FolderHub({"owner/codecs": codec_repo()}, tamper={path})
    db_root = tmp_path / "db" / "codecs"
    kind = "sha256" if path.endswith(".parquet") else "git blob id"
    with pytest.raises(ChecksumError, match=rf"{path}: {kind} [0-9a-f]+, the Hub lists"):
        get_corpus(PARQUET_SOURCE, db_root, hub_client=hub)
    downloads = local_dir(tmp_path / "db" / "downloads", "owner/codecs")
    assert (downloads / f"{path}.bad").is_file() and not (downloads / path).exists()
    assert not db_root.exists()


def test_a_gated_repository_asks_for_access_and_a_login(tmp_path):
    hub = FolderHub({"owner/codecs": codec_repo()}, refuse={"owner/codecs"})
    with pytest.raises(ManualDownloadError) as caught:
        get_corpus(PARQUET_SOURCE, tmp_path / "db" / "codecs", hub_client=hub)
    message = str(caught.value)
    assert (
        "huggingface.co/datasets/owner/codecs (huggingface.co/datasets/owner/codecs: the" in message
    )
    assert "hf auth login" in message and "HF_TOKEN" in message
    assert f"at revision {COMMIT}" in message


def test_no_matching_file_is_an_error(tmp_path):
    source = replace(PARQUET_SOURCE, hub=(replace(PARQUET_SOURCE.hub[0], patterns=("fake/xx/*",)),))
    with pytest.raises(ManualDownloadError, match=r"no file matching fake/xx/\*"):
        get_corpus(source, tmp_path / "db" / "codecs", hub_client=FolderHub({"owner/codecs": {}}))


def test_a_row_naming_a_file_twice_is_refused(tmp_path):
    repo = codec_repo()
    repo["data/train-00001-of-00002.parquet"] = parquet_bytes([SHARD_0[0]])
    with pytest.raises(Exception, match=r"genuine/p225/p225_001.wav is named by two rows"):
        get_corpus(
            PARQUET_SOURCE, tmp_path / "db" / "codecs", hub_client=FolderHub({"owner/codecs": repo})
        )
    assert not (tmp_path / "db" / "codecs").exists()


LOCAL_SOURCE = CorpusSource(
    name="local_test",
    title="A gated corpus",
    landing_page="https://huggingface.co/datasets/owner/gated",
    layout="db_root holds meta/eval.csv and flac/",
    files=(),
    lists=(
        FileList(
            "meta/eval.csv",
            2,
            "flac",
            column=0,
            suffix="",
            delimiter=",",
            header=("file,speaker,attack", "path,speaker,attack"),
        ),
    ),
    access="1. Ask the authors for access.\n2. Unpack it.",
)


def test_a_local_only_corpus_without_a_copy_gives_the_access_steps(tmp_path):
    with pytest.raises(ManualDownloadError) as caught:
        get_corpus(LOCAL_SOURCE, tmp_path / "gated", hub_client=FolderHub({}))
    message = str(caught.value)
    assert "holds no copy of A gated corpus, which is not downloaded here" in message
    assert "1. Ask the authors for access.\n2. Unpack it." in message
    assert "db_root holds meta/eval.csv and flac/" in message


@pytest.mark.parametrize("header", ["file,speaker,attack", "path,speaker,attack"])
def test_a_local_copy_is_checked_and_marked(header, tmp_path):
    root = tmp_path / "gated"
    (root / "meta").mkdir(parents=True)
    (root / "meta/eval.csv").write_text(
        f"{header}\na00/id1/x.flac,id1,a00\na01/id1/y.flac,id1,a01\n"
    )
    for rel in ("a00/id1/x.flac", "a01/id1/y.flac"):
        (root / "flac" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "flac" / rel).write_bytes(b"fLaC")
    get_corpus(LOCAL_SOURCE, root, hub_client=FolderHub({}))
    assert (root / ".complete").read_text().startswith("local_test: existing copy\n")


def test_a_local_copy_missing_a_nested_file_is_refused(tmp_path):
    root = tmp_path / "gated"
    (root / "meta").mkdir(parents=True)
    (root / "meta/eval.csv").write_text(
        "file,speaker,attack\na00/id1/x.flac,id1,a00\na01/id2/y.flac,id2,a01\n"
    )
    (root / "flac/a00/id1").mkdir(parents=True)
    (root / "flac/a00/id1/x.flac").write_bytes(b"fLaC")
    with pytest.raises(
        LayoutError, match=r"1 of 2 listed files are missing from flac/ \(e.g. a01/id2/y.flac\)"
    ):
        get_corpus(LOCAL_SOURCE, root, hub_client=FolderHub({}))
    (root / "meta/eval.csv").write_text("wav,speaker,attack\n")
    with pytest.raises(
        LayoutError,
        match=r"first line 'wav,speaker,attack', expected 'file,speaker,attack' or 'path,",
    ):
        get_corpus(LOCAL_SOURCE, root, hub_client=FolderHub({}))


# --- the real descriptions -------------------------------------------------------------------


def test_codecfake_is_fetched_at_its_commit_and_prepared(tmp_path):
    rows = codecfake_rows()
    repo = {
        "README.md": b"---\nlicense: cc-by-4.0\n---\n",
        ".gitattributes": b"*.parquet filter=lfs\n",
        "datalist.csv": b"wav,label,speaker,codec\n",
        # The release's shard names; the replica has two shards of a real 161.
        "data/train-00000-of-00161.parquet": parquet_bytes(rows[:15]),
        "data/train-00001-of-00161.parquet": parquet_bytes(rows[15:]),
    }
    source = SOURCES["codecfake"]
    assert source.hub[0].repo_id == "rogertseng/CodecFake"
    assert source.lists[0].count == 707_872
    hub = FolderHub({"rogertseng/CodecFake": repo})
    db_root = tmp_path / "db" / "codecfake"
    with pytest.raises(LayoutError, match=r"metadata\.csv: 40 entries, expected 707,872"):
        get_corpus(source, db_root, hub_client=hub)
    replica = replace(source, lists=(replace(source.lists[0], count=len(rows)),))
    get_corpus(replica, db_root, hub_client=hub)
    assert hub.resolved[-1] == ("rogertseng/CodecFake", "ae224c9cff0e7a19edf885a670c2f7821711aed9")
    assert "@ae224c9cff0e7a19edf885a670c2f7821711aed9" in (db_root / ".complete").read_text()
    sizes = codecfake.prepare(db_root, tmp_path / "data")
    assert sizes == {"codecfake_test": 16, "codecfake_dev": 16}
    wav_scp = read_table(tmp_path / "data/codecfake_test/wav.scp")
    assert wav_scp["cf_SpeechTokenizer_p228_002"] == f"{db_root}/SpeechTokenizer/p228/p228_002.flac"


def test_spoofceleb_is_checked_against_its_official_sizes_and_marked(tmp_path):
    source = SOURCES["spoofceleb"]
    root = tmp_path / "spoofceleb"
    with pytest.raises(ManualDownloadError, match="hf download jungjee/spoofceleb"):
        get_corpus(source, root)
    spoofceleb_unpacked(root)
    with pytest.raises(LayoutError) as caught:
        get_corpus(source, root)
    assert "spoofceleb/metadata/development.csv: 3 entries, expected 55,741" in str(caught.value)
    assert "spoofceleb/metadata/evaluation.csv: 5 entries, expected 91,130" in str(caught.value)
    replica = replace(source, lists=tuple(replace(lst, count=None) for lst in source.lists))
    get_corpus(replica, root)
    assert (root / ".complete").read_text().startswith("spoofceleb: existing copy\n")


def test_deepfake_eval_2024_is_checked_for_every_listed_file_and_marked(tmp_path):
    source = SOURCES["deepfake_eval_2024"]
    root = tmp_path / "dfe"
    with pytest.raises(ManualDownloadError, match="fill in the access form on https://hugg"):
        get_corpus(source, root)
    deepfake_eval_2024_copy(root)
    (root / "audio-data/press-02.wav").unlink()
    with pytest.raises(LayoutError, match=r"audio-data/: 1 of the 5 files of audio-metadata"):
        get_corpus(source, root)
    (root / "audio-data/press-02.wav").write_bytes(b"RIFF")
    get_corpus(source, root)
    assert (root / ".complete").read_text().startswith("deepfake_eval_2024: existing copy\n")


def tree_bytes(root: Path, under: str) -> dict[str, bytes]:
    """Every file under `root/under`, by its path relative to `root`."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted((root / under).rglob("*"))
        if path.is_file()
    }


def test_mlaad_languages_are_fetched_with_their_mailabs_releases(server, tmp_path):  # noqa: F811
    replica = tmp_path / "replica"
    mlaad_with_mailabs(replica)
    repo = tree_bytes(replica / "MLAAD", "")
    repo["fake/ar/some_system/meta.csv"] = b"path|original_file|language|model_name\n"  # not asked
    hub = FolderHub({"mueller91/MLAAD": repo})
    for tag in ("de_DE", "en_UK", "en_US"):
        server.files[f"{tag}.tgz"] = tar_gz_bytes(tree_bytes(replica / "M-AILABS", tag))
    source = mlaad_source(("de", "en"))
    assert [remote.name for remote in source.files] == ["de_DE.tgz", "en_UK.tgz", "en_US.tgz"]
    assert source.files[0].urls[0] == "https://ics.tau-ceti.space/data/Training/stt_tts/de_DE.tgz"
    db_root = tmp_path / "db" / "mlaad"
    get_corpus(source, db_root, base_url=server.url, options=FAST, hub_client=hub)

    marker = (db_root / ".complete").read_text()
    assert marker.startswith(
        f"mlaad: de_DE.tgz en_UK.tgz en_US.tgz huggingface.co/datasets/mueller91/MLAAD@{COMMIT}"
    )
    assert hub.resolved == [("mueller91/MLAAD", None)]  # the default branch, recorded above
    assert not any(
        path.startswith("fake/ar/") or path.startswith("fake/fr/") for path in hub.downloads
    )
    assert (db_root / "MLAAD/README.md").is_file()
    assert sorted(path.name for path in (db_root / "M-AILABS").iterdir()) == [
        "de_DE",
        "en_UK",
        "en_US",
    ]
    sizes = mlaad.prepare(db_root, tmp_path / "data")
    assert sizes == {"mlaad_de": 7, "mlaad_en": 6}


def test_mlaad_stage_0_refuses_a_copy_without_a_named_recording(tmp_path):
    root = tmp_path / "mlaad"
    mlaad_with_mailabs(root)
    (root / "M-AILABS" / mailabs_original("de_DE", 1)).unlink()
    with pytest.raises(LayoutError, match=r"de: 1 of 2 M-AILABS recordings are missing"):
        get_corpus(SOURCES["mlaad"], root, hub_client=FolderHub({}))
    with pytest.raises(ValueError, match=r"MLAAD languages xx: choose among de, en, es"):
        mlaad_source(("de", "xx"))


NEW_WRAPPERS = {
    "codecfake": "[--download_dir DIR] <db_root>",
    "mlaad": '[--languages "de en ..."] [--download_dir DIR] [--base_url URL] <db_root>',
    "spoofceleb": "<db_root>",
    "deepfake_eval_2024": "<db_root>",
}


@pytest.mark.parametrize("corpus", sorted(NEW_WRAPPERS))
def test_wrapper_help_and_usage(corpus):
    script = REPO / f"local/{corpus}/get_corpus.sh"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert f"Usage: local/{corpus}/get_corpus.sh {NEW_WRAPPERS[corpus]}" in result.stdout
    result = subprocess.run([str(script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and "Usage:" in result.stderr


def test_languages_are_an_option_of_mlaad_only(tmp_path, capsys):
    argv = ["--corpus", "codecfake", "--db_root", str(tmp_path), "--languages", "de"]
    with pytest.raises(SystemExit):
        get_corpus_cli.main(argv)
    assert "--languages is an option of mlaad only" in capsys.readouterr().err
