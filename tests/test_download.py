"""Stage 0 for the real corpora, against tiny replicas served from a loopback HTTP server.

The replicas have the official internal layouts of the archives and a handful of files; their
descriptions are the real ones with the counts (and published md5s) of the replica.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import subprocess
import sys
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from antispoof.bin import get_corpus as get_corpus_cli
from antispoof.corpora import fake_or_real
from antispoof.download import (
    ArchiveError,
    ChecksumError,
    CorpusError,
    LayoutError,
    ManualDownloadError,
)
from antispoof.download.corpus import get_corpus
from antispoof.download.fetch import FetchOptions
from antispoof.download.sources import SOURCES, CorpusSource
from antispoof.download.unpack import staging_dir

REPO = Path(__file__).resolve().parents[1]
WRAPPERS = {
    "asvspoof2019_la": "local/asvspoof2019/get_corpus.sh",
    "asvspoof2021_la": "local/asvspoof2021_la/get_corpus.sh",
    "asvspoof2021_df": "local/asvspoof2021_df/get_corpus.sh",
    "in_the_wild": "local/in_the_wild/get_corpus.sh",
    "fake_or_real": "local/fake_or_real/get_corpus.sh",
    "asvspoof5": "local/asvspoof5/get_corpus.sh",
}
FAST = FetchOptions(timeout=5, retries=2, backoff=0, progress_interval=0, chunk_size=64)
FLAC = b"fLaC" + bytes(60)  # stand-in audio; nothing here decodes it
# Tested in test_download_hub.py.
HUB_AND_LOCAL_SOURCES = {"codecfake", "deepfake_eval_2024", "mlaad", "spoofceleb"}


# --- archives in the official layouts -----------------------------------------------------


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for directory in sorted({name.split("/")[0] + "/" for name in members}):
            archive.writestr(directory, b"")  # real zips list their folders too
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_gz_bytes(
    members: dict[str, bytes], links: dict[str, str] | None = None, mode: str = "w:gz"
) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        # Real tarballs list each folder before its files; the DF parts repeat them.
        for directory in sorted({str(Path(name).parent) for name in members} - {".", "/"}):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            archive.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


def lines(*rows: str) -> bytes:
    return "".join(row + "\n" for row in rows).encode()


def fake_la2019() -> dict[str, bytes]:
    protocols = "LA/ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm"
    trials = {
        "train": ["LA_0079 LA_T_1138215 - - bonafide", "LA_0079 LA_T_1271820 - A01 spoof"],
        "dev": ["LA_0069 LA_D_1047731 - - bonafide", "LA_0069 LA_D_1105538 - A02 spoof"],
        "eval": [
            "LA_0039 LA_E_2834763 - A11 spoof",
            "LA_0014 LA_E_8688761 - - bonafide",
            "LA_0014 LA_E_1665632 - A19 spoof",
        ],
    }
    members = {
        f"{protocols}.train.trn.txt": lines(*trials["train"]),
        f"{protocols}.dev.trl.txt": lines(*trials["dev"]),
        f"{protocols}.eval.trl.txt": lines(*trials["eval"]),
        "LA/README.LA.txt": b"ASVspoof 2019 LA\n",
        # An ASV enrolment file that no CM protocol lists, as in the real dev folder.
        "LA/ASVspoof2019_LA_dev/flac/LA_D_9999999.flac": FLAC,
    }
    for split in ("dev", "eval"):
        scores = f"LA/ASVspoof2019_LA_asv_scores/ASVspoof2019.LA.asv.{split}.gi.trl.scores.txt"
        members[scores] = lines("bonafide target 1.5", "A01 spoof -3.0")
    for split, rows in trials.items():
        for row in rows:
            members[f"LA/ASVspoof2019_LA_{split}/flac/{row.split()[1]}.flac"] = FLAC
    return {"LA.zip": zip_bytes(members)}


def fake_la2021() -> dict[str, bytes]:
    utts = ["LA_E_9332881", "LA_E_7310647", "LA_E_8256205"]
    audio = {
        "ASVspoof2021_LA_eval/ASVspoof2021.LA.cm.eval.trl.txt": lines(*utts),
        "ASVspoof2021_LA_eval/README.LA.txt": b"ASVspoof 2021 LA\n",
        **{f"ASVspoof2021_LA_eval/flac/{utt}.flac": FLAC for utt in utts},
    }
    keys = {
        "keys/LA/CM/trial_metadata.txt": lines(
            "LA_0009 LA_E_9332881 alaw ita_tx A07 spoof notrim eval",
            "LA_0021 LA_E_7310647 none - bonafide bonafide only_speech hidden",
            "LA_0021 LA_E_8256205 pstn mad_tx bonafide bonafide only_speech progress",
        ),
        "keys/LA/ASV/trial_metadata.txt": lines(
            "LA_0007-alaw-ita_tx LA_E_5013670-alaw-ita_tx alaw ita_tx bonafide nontarget notrim "
            "eval"
        ),
        "keys/LA/ASV/ASVTorch_Kaldi/score.txt": lines(
            "LA_0007-alaw-ita_tx LA_E_5013670-alaw-ita_tx -9.836706"
        ),
    }
    return {
        "ASVspoof2021_LA_eval.tar.gz": tar_gz_bytes(audio),
        "LA-keys-full.tar.gz": tar_gz_bytes(keys),
    }


def fake_df2021() -> dict[str, bytes]:
    utts = ["DF_E_2000011", "DF_E_2000013", "DF_E_2000024", "DF_E_4999945"]
    archives = {}
    for part, utt in enumerate(utts):
        members = {f"ASVspoof2021_DF_eval/flac/{utt}.flac": FLAC}
        if part == 0:  # the protocol and the READMEs come with the first part only
            members["ASVspoof2021_DF_eval/ASVspoof2021.DF.cm.eval.trl.txt"] = lines(*utts)
            members["ASVspoof2021_DF_eval/README.DF.txt"] = b"ASVspoof 2021 DF\n"
        archives[f"ASVspoof2021_DF_eval_part0{part}.tar.gz"] = tar_gz_bytes(members)
    key = [
        f"LA_0023 {utt} nocodec asvspoof A14 spoof notrim eval traditional_vocoder - - - -"
        for utt in utts
    ]
    archives["DF-keys-full.tar.gz"] = tar_gz_bytes({"keys/DF/CM/trial_metadata.txt": lines(*key)})
    return archives


def fake_in_the_wild() -> dict[str, bytes]:
    members = {
        "release_in_the_wild/meta.csv": lines(
            "file,speaker,label",
            "0.wav,Alec Guinness,spoof",
            '1.wav,"Doe, John",bona-fide',
            "2.wav,Alec Guinness,bona-fide",
        ),
        **{f"release_in_the_wild/{n}.wav": b"RIFF" + bytes(40) for n in range(3)},
    }
    return {"release_in_the_wild.zip": zip_bytes(members)}


def fake_fake_or_real() -> dict[str, bytes]:
    """for-norm with every file of the Arena's test list, a stray fake it leaves out, and one
    training file (the other splits are not read)."""
    members = {f"for-norm/{trial.rel}": FLAC for trial in fake_or_real.arena_trials()}
    members[f"for-norm/testing/fake/{fake_or_real.FILE_NAME.format(number=34)}"] = FLAC
    members[f"for-norm/training/real/{fake_or_real.FILE_NAME.format(number=1)}"] = FLAC
    return {"for-norm.tar.gz": tar_gz_bytes(members)}


def fake_asvspoof5(protocol_dir: str = "") -> dict[str, bytes]:
    """The 18 plain tar parts (each unpacks into its set's folder) and the protocols tarball,
    with one trial per part; flac_D_aa also holds a Track 2 enrolment file."""
    archives = {}
    protocols = {"T": "ASVspoof5.train.tsv", "D": "ASVspoof5.dev.track_1.tsv"}
    protocols["E"] = "ASVspoof5.eval.track_1.tsv"
    rows: dict[str, list[str]] = {letter: [] for letter in protocols}
    folders = {"T": "flac_T", "D": "flac_D", "E": "flac_E_eval"}
    for letter, parts in (("T", "abcde"), ("D", "abc"), ("E", "abcdefghij")):
        for number, part in enumerate(parts):
            utt = f"{letter}_{number:010d}"
            members = {f"{folders[letter]}/{utt}.flac": FLAC}
            if letter == "D" and part == "a":
                members["flac_D/D_9999999999.flac"] = FLAC
            archives[f"flac_{letter}_a{part}.tar"] = tar_gz_bytes(members, mode="w")
            codec = "- - -" if letter != "E" else f"C0{number % 9 + 1} 3 E_{number + 10:010d}"
            rows[letter].append(f"{letter}_0001 {utt} F {codec} AC1 A0{number % 8 + 1} spoof -")
    archives["ASVspoof5_protocols.tar.gz"] = tar_gz_bytes(
        {f"{protocol_dir}{name}": lines(*rows[letter]) for letter, name in protocols.items()}
    )
    return archives


FAKES = {
    "asvspoof2019_la": (fake_la2019, {"train.trn": 2, "dev.trl": 2, "eval.trl": 3}),
    "asvspoof2021_la": (fake_la2021, {"": 3}),
    "asvspoof2021_df": (fake_df2021, {"": 4}),
    "in_the_wild": (fake_in_the_wild, {"": 3}),
    "fake_or_real": (fake_fake_or_real, {}),
    "asvspoof5": (fake_asvspoof5, {"train": 5, "dev": 3, "eval": 10}),
}


def replica(name: str, archives: dict[str, bytes]) -> CorpusSource:
    """The real description with the counts and the published md5s of the tiny replica."""
    source = SOURCES[name]
    counts = FAKES[name][1]
    files = tuple(
        replace(remote, md5=hashlib.md5(archives[remote.name]).hexdigest())
        if remote.md5
        else remote
        for remote in source.files
    )
    lists = tuple(
        replace(file_list, count=next(n for key, n in counts.items() if key in file_list.path))
        for file_list in source.lists
    )
    return replace(source, files=files, lists=lists)


# --- a loopback HTTP server with Range support ----------------------------------------------


@dataclass
class Seen:
    name: str
    range: str | None
    user_agent: str | None


@dataclass
class Server:
    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    ignore_range: bool = False
    drop_first: dict[str, int] = field(default_factory=dict)  # name -> bytes sent, then close
    status: dict[str, int] = field(default_factory=dict)  # name -> forced error status
    redirects: dict[str, str] = field(default_factory=dict)  # name -> name it moved to
    fail_once: dict[str, int] = field(default_factory=dict)  # name -> status of the next answer
    content_type: str = "application/octet-stream"

    def range_requests(self, name: str) -> list[str | None]:
        return [seen.range for seen in self.requests if seen.name == name]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        state: Server = self.server.state  # type: ignore[attr-defined]
        name = urlsplit(self.path).path.lstrip("/")
        requested = self.headers.get("Range")
        state.requests.append(Seen(name, requested, self.headers.get("User-Agent")))
        if name in state.status:
            self.send_error(state.status[name])
            return
        if name in state.fail_once:
            self.send_error(state.fail_once.pop(name))
            return
        if name in state.redirects:  # as Zenodo and Hugging Face answer, to a storage host
            self.send_response(302)
            self.send_header("Location", f"{state.url}/{state.redirects[name]}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if name not in state.files:
            self.send_error(404)
            return
        data = state.files[name]
        start = 0
        if requested and not state.ignore_range:
            start = int(requested.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Type", state.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # A dropped connection: the announced length, then fewer bytes and a close.
        self.wfile.write(body[: state.drop_first.pop(name, len(body))])

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Server(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def serve(server: Server, name: str) -> tuple[CorpusSource, dict[str, bytes]]:
    archives = FAKES[name][0]()
    server.files.update(archives)
    return replica(name, archives), archives


def run_stage0(source: CorpusSource, db_root: Path, server: Server, **kwargs) -> None:
    get_corpus(source, db_root, base_url=server.url, options=FAST, **kwargs)


# --- the whole stage -------------------------------------------------------------------------


LAYOUT_PATHS = {
    "asvspoof2019_la": [
        "LA/ASVspoof2019_LA_cm_protocols/ASVspoof2019.LA.cm.train.trn.txt",
        "LA/ASVspoof2019_LA_train/flac/LA_T_1138215.flac",
        "LA/ASVspoof2019_LA_asv_scores/ASVspoof2019.LA.asv.eval.gi.trl.scores.txt",
    ],
    "asvspoof2021_la": [
        "ASVspoof2021_LA_eval/ASVspoof2021.LA.cm.eval.trl.txt",
        "ASVspoof2021_LA_eval/flac/LA_E_9332881.flac",
        "keys/LA/CM/trial_metadata.txt",
        "keys/LA/ASV/trial_metadata.txt",
        "keys/LA/ASV/ASVTorch_Kaldi/score.txt",
    ],
    "asvspoof2021_df": [
        "ASVspoof2021_DF_eval/ASVspoof2021.DF.cm.eval.trl.txt",
        *(f"ASVspoof2021_DF_eval/flac/{utt}.flac" for utt in ("DF_E_2000011", "DF_E_4999945")),
        "keys/DF/CM/trial_metadata.txt",
    ],
    "in_the_wild": ["release_in_the_wild/meta.csv", "release_in_the_wild/2.wav"],
    "fake_or_real": [
        "for-norm/testing/real/file2264.wav_16k.wav_norm.wav_mono.wav_silence.wav",
        "for-norm/testing/fake/file2371.wav_16k.wav_norm.wav_mono.wav_silence.wav",
    ],
    "asvspoof5": [
        "ASVspoof5.train.tsv",
        "ASVspoof5.eval.track_1.tsv",
        "flac_T/T_0000000004.flac",
        "flac_D/D_9999999999.flac",
        "flac_E_eval/E_0000000009.flac",
    ],
}


@pytest.mark.parametrize("name", sorted(FAKES))
def test_download_verify_unpack_and_mark(name, server, tmp_path):
    source, archives = serve(server, name)
    db_root = tmp_path / "db" / name
    run_stage0(source, db_root, server)

    assert (db_root / ".complete").is_file()
    for rel in LAYOUT_PATHS[name]:
        assert (db_root / rel).is_file(), rel
    downloads = tmp_path / "db" / "downloads"  # the documented default: <db_root>/../downloads
    assert sorted(path.name for path in downloads.iterdir()) == sorted(archives)
    for archive, data in archives.items():
        assert (downloads / archive).read_bytes() == data
    assert not staging_dir(db_root).exists()
    assert all(seen.user_agent.startswith("antispoof/") for seen in server.requests)
    assert all(seen.range is None for seen in server.requests)


def test_every_source_is_tested():
    # Archive downloads here; Hub and local-only sources in test_download_hub.py.
    assert set(SOURCES) == set(FAKES) | HUB_AND_LOCAL_SOURCES


def test_official_sources_are_recorded_as_published():
    la19, la21, df21, itw = (
        SOURCES[n] for n in ("asvspoof2019_la", "asvspoof2021_la", "asvspoof2021_df", "in_the_wild")
    )
    assert la19.files[0].urls[0] == (
        "https://datashare.ed.ac.uk/bitstream/handle/10283/3336/LA.zip?sequence=3&isAllowed=y"
    )
    assert [file_list.count for file_list in la19.lists] == [25_380, 24_844, 71_237]
    assert la21.files[0].urls[0] == (
        "https://zenodo.org/records/4837263/files/ASVspoof2021_LA_eval.tar.gz?download=1"
    )
    assert (la21.files[1].urls[0], la21.files[1].md5) == (
        "https://www.asvspoof.org/asvspoof2021/LA-keys-full.tar.gz",
        "f052cc2ed276745afa3b5198665d3b26",
    )
    assert [file_list.count for file_list in la21.lists] == [181_566, 181_566]
    assert [remote.name for remote in df21.files] == [
        *(f"ASVspoof2021_DF_eval_part0{part}.tar.gz" for part in range(4)),
        "DF-keys-full.tar.gz",
    ]
    assert df21.files[4].md5 == "dabbc5628de4fcef53036c99ac7ab93a"
    assert [file_list.count for file_list in df21.lists] == [611_829, 611_829]
    assert itw.files[0].urls == (
        "https://huggingface.co/datasets/mueller91/In-The-Wild/resolve/main/release_in_the_wild.zip",
        "https://owncloud.fraunhofer.de/index.php/s/JZgXh0JEAF0elxa/download",
    )
    assert itw.lists[0].count == 31_779
    fake_or_real_norm = SOURCES["fake_or_real"]
    assert fake_or_real_norm.files[0].urls[0] == "https://bil.eecs.yorku.ca/share/for-norm.tar.gz"
    assert fake_or_real_norm.checks == (fake_or_real.missing_trials,)


def test_asvspoof5_is_recorded_as_its_readme_publishes_it():
    source = SOURCES["asvspoof5"]
    names = [remote.name for remote in source.files]
    assert names == [
        *(f"flac_T_a{part}.tar" for part in "abcde"),
        *(f"flac_D_a{part}.tar" for part in "abc"),
        *(f"flac_E_a{part}.tar" for part in "abcdefghij"),
        "ASVspoof5_protocols.tar.gz",
    ]
    md5 = {remote.name: remote.md5 for remote in source.files}
    assert md5["ASVspoof5_protocols.tar.gz"] == "865d0e894ea9f686f0f37e5ae3ae3616"
    assert md5["flac_T_aa.tar"] == "b0cc86b14826a7701b52aad4f53daf9c"
    assert md5["flac_E_aj.tar"] == "c50281c8233af6f3b0899604d21ade44"
    assert all(remote.md5 for remote in source.files)
    assert source.files[0].urls[0] == (
        "https://zenodo.org/records/14498691/files/flac_T_aa.tar?download=1"
    )
    assert [(fl.path, fl.count, fl.audio_dir) for fl in source.lists] == [
        ("ASVspoof5.train.tsv", 182_357, "flac_T"),
        ("ASVspoof5.dev.track_1.tsv", 140_950, "flac_D"),
        ("ASVspoof5.eval.track_1.tsv", 680_774, "flac_E_eval"),
    ]


def test_asvspoof5_protocols_unpacked_into_a_folder_of_their_own_are_found(server, tmp_path):
    archives = fake_asvspoof5(protocol_dir="ASVspoof5_protocols/")
    server.files.update(archives)
    source = replica("asvspoof5", archives)
    db_root = tmp_path / "db" / "asv5"
    run_stage0(source, db_root, server)
    assert (db_root / ".complete").is_file()
    assert (db_root / "ASVspoof5_protocols" / "ASVspoof5.dev.track_1.tsv").is_file()


def test_a_truncated_or_fake_plain_tar_is_an_error_and_moved_aside(server, tmp_path):
    source, _ = serve(server, "asvspoof5")
    # Without its md5 (which would catch it first), a truncated part fails while it is read.
    unchecked = tuple(
        replace(remote, md5=None) if remote.name == "flac_D_ab.tar" else remote
        for remote in source.files
    )
    source = replace(source, files=unchecked)
    audio = {"flac_D/D_0000000001.flac": random.Random(0).randbytes(20_000)}
    server.files["flac_D_ab.tar"] = tar_gz_bytes(audio, mode="w")[:10_000]
    db_root = tmp_path / "db" / "asv5"
    with pytest.raises(ArchiveError, match=r"flac_D_ab.tar is corrupt .*ReadError"):
        run_stage0(source, db_root, server)
    downloads = tmp_path / "db" / "downloads"
    assert (downloads / "flac_D_ab.tar.bad").is_file()
    assert_nothing_unpacked(db_root)

    server.files["flac_D_ab.tar"] = b"<!DOCTYPE html><html>Please log in</html>" + bytes(600)
    with pytest.raises(ArchiveError, match=r"flac_D_ab.tar is not a tar archive; .*DOCTYPE"):
        run_stage0(source, db_root, server)
    assert_nothing_unpacked(db_root)


# --- resuming ----------------------------------------------------------------------------------


def test_a_dropped_connection_is_resumed_with_range(server, tmp_path):
    source, archives = serve(server, "in_the_wild")
    data = archives["release_in_the_wild.zip"]
    half = len(data) // 2
    server.drop_first["release_in_the_wild.zip"] = half
    run_stage0(source, tmp_path / "db" / "itw", server)

    assert server.range_requests("release_in_the_wild.zip") == [None, f"bytes={half}-"]
    assert (tmp_path / "db" / "downloads" / "release_in_the_wild.zip").read_bytes() == data
    assert (tmp_path / "db" / "itw" / ".complete").is_file()


def test_a_rerun_continues_the_part_of_an_interrupted_run(server, tmp_path):
    source, archives = serve(server, "in_the_wild")
    data = archives["release_in_the_wild.zip"]
    downloads = tmp_path / "db" / "downloads"
    downloads.mkdir(parents=True)
    (downloads / "release_in_the_wild.zip.part").write_bytes(data[:100])
    run_stage0(source, tmp_path / "db" / "itw", server)

    assert server.range_requests("release_in_the_wild.zip") == ["bytes=100-"]
    assert (downloads / "release_in_the_wild.zip").read_bytes() == data
    assert not (downloads / "release_in_the_wild.zip.part").exists()


def test_a_resumed_request_keeps_its_range_through_a_redirect(server, tmp_path):
    source, archives = serve(server, "in_the_wild")
    data = archives["release_in_the_wild.zip"]
    server.files["storage/blob"] = data
    server.redirects["release_in_the_wild.zip"] = "storage/blob"
    downloads = tmp_path / "db" / "downloads"
    downloads.mkdir(parents=True)
    (downloads / "release_in_the_wild.zip.part").write_bytes(data[:100])
    run_stage0(source, tmp_path / "db" / "itw", server)

    assert server.range_requests("storage/blob") == ["bytes=100-"]
    assert (downloads / "release_in_the_wild.zip").read_bytes() == data


def test_a_server_ignoring_range_restarts_from_zero(server, tmp_path):
    source, archives = serve(server, "in_the_wild")
    server.ignore_range = True
    downloads = tmp_path / "db" / "downloads"
    downloads.mkdir(parents=True)
    (downloads / "release_in_the_wild.zip.part").write_bytes(b"stale bytes, not the file")
    run_stage0(source, tmp_path / "db" / "itw", server)

    assert server.range_requests("release_in_the_wild.zip") == ["bytes=25-"]  # answered 200
    assert (downloads / "release_in_the_wild.zip").read_bytes() == archives[
        "release_in_the_wild.zip"
    ]


def test_a_complete_part_answered_416_is_kept(server, tmp_path):
    source, archives = serve(server, "in_the_wild")
    data = archives["release_in_the_wild.zip"]
    downloads = tmp_path / "db" / "downloads"
    downloads.mkdir(parents=True)
    (downloads / "release_in_the_wild.zip.part").write_bytes(data)
    run_stage0(source, tmp_path / "db" / "itw", server)

    assert server.range_requests("release_in_the_wild.zip") == [f"bytes={len(data)}-"]
    assert (tmp_path / "db" / "itw" / ".complete").is_file()


def test_transient_errors_are_retried_a_bounded_number_of_times(server, tmp_path):
    source, _ = serve(server, "in_the_wild")
    server.fail_once["release_in_the_wild.zip"] = 503
    run_stage0(source, tmp_path / "db" / "itw", server)
    assert server.range_requests("release_in_the_wild.zip") == [None, None]

    server.status["release_in_the_wild.zip"] = 503
    server.requests.clear()
    with pytest.raises(ManualDownloadError, match=f"gave up after {FAST.retries} retries"):
        run_stage0(source, tmp_path / "elsewhere" / "itw", server)
    assert len(server.requests) == FAST.retries + 1


def test_the_next_mirror_is_tried_when_one_fails(server, tmp_path):
    source, _ = serve(server, "in_the_wild")
    remote = source.files[0]
    urls = (f"{server.url}/gone/{remote.name}", f"{server.url}/{remote.name}")
    source = replace(source, files=(replace(remote, urls=urls),))
    get_corpus(source, tmp_path / "db" / "itw", options=FAST)

    assert [seen.name for seen in server.requests] == [f"gone/{remote.name}", remote.name]
    assert (tmp_path / "db" / "itw" / ".complete").is_file()


# --- failures: clear errors, bad files moved aside, nothing that looks complete -----------


def assert_nothing_unpacked(db_root: Path) -> None:
    assert not db_root.exists()
    assert not staging_dir(db_root).exists()


@pytest.mark.parametrize(
    ("change", "expected", "actual"),
    [
        ({"md5": "0" * 32}, "md5", "expected " + "0" * 32),
        ({"size": 12345}, "size", "expected 12345"),
    ],
)
def test_a_wrong_checksum_is_an_error_and_the_file_is_moved_aside(
    change, expected, actual, server, tmp_path
):
    source, archives = serve(server, "asvspoof2021_la")
    keys = replace(source.files[1], **change)
    source = replace(source, files=(source.files[0], keys))
    db_root = tmp_path / "db" / "la21"
    with pytest.raises(ChecksumError) as caught:
        run_stage0(source, db_root, server)

    message = str(caught.value)
    data = archives["LA-keys-full.tar.gz"]
    real = hashlib.md5(data).hexdigest() if expected == "md5" else f"{len(data)} bytes"
    assert "LA-keys-full.tar.gz" in message and actual in message and real in message
    downloads = tmp_path / "db" / "downloads"
    assert (downloads / "LA-keys-full.tar.gz.bad").read_bytes() == data
    assert not (downloads / "LA-keys-full.tar.gz").exists()
    assert not (downloads / "LA-keys-full.tar.gz.part").exists()
    assert_nothing_unpacked(db_root)


def test_a_corrupt_zip_is_an_error_and_moved_aside(server, tmp_path):
    source, _ = serve(server, "in_the_wild")
    payload = b"spoofed or not, this clip is corrupt" * 4
    data = bytearray(zip_bytes({"release_in_the_wild/0.wav": payload}, zipfile.ZIP_STORED))
    data[data.index(payload) + 10] ^= 0xFF  # one flipped byte: the member's CRC-32 fails
    server.files["release_in_the_wild.zip"] = bytes(data)
    db_root = tmp_path / "db" / "itw"
    with pytest.raises(ArchiveError, match=r"release_in_the_wild.zip is corrupt .*CRC"):
        run_stage0(source, db_root, server)

    assert (tmp_path / "db" / "downloads" / "release_in_the_wild.zip.bad").is_file()
    assert_nothing_unpacked(db_root)


def test_a_corrupt_tar_gz_is_an_error_and_moved_aside(server, tmp_path):
    source, _ = serve(server, "asvspoof2021_df")
    # Incompressible audio is stored verbatim by deflate: a flipped byte there decompresses
    # without complaint, and only the gzip CRC-32 at the end of the stream catches it.
    audio = random.Random(0).randbytes(20_000)
    members = {"ASVspoof2021_DF_eval/flac/DF_E_2000013.flac": audio}
    data = bytearray(tar_gz_bytes(members))
    data[len(data) // 2] ^= 0xFF
    server.files["ASVspoof2021_DF_eval_part01.tar.gz"] = bytes(data)
    db_root = tmp_path / "db" / "df21"
    with pytest.raises(ArchiveError, match=r"part01.tar.gz is corrupt .*CRC"):
        run_stage0(source, db_root, server)

    downloads = tmp_path / "db" / "downloads"
    assert (downloads / "ASVspoof2021_DF_eval_part01.tar.gz.bad").is_file()
    assert (downloads / "ASVspoof2021_DF_eval_part00.tar.gz").is_file()  # the good ones stay
    assert_nothing_unpacked(db_root)


def test_a_login_page_saved_as_the_archive_is_refused(server, tmp_path):
    source, _ = serve(server, "asvspoof2019_la")
    server.files["LA.zip"] = b"<!DOCTYPE html><html>Please log in</html>"
    db_root = tmp_path / "db" / "la19"
    with pytest.raises(ArchiveError, match=r"LA.zip is not a readable zip archive .*DOCTYPE"):
        run_stage0(source, db_root, server)
    assert (tmp_path / "db" / "downloads" / "LA.zip.bad").is_file()
    assert_nothing_unpacked(db_root)


@pytest.mark.parametrize("refusal", ["status", "html"])
def test_a_refused_download_asks_for_a_manual_one(refusal, server, tmp_path):
    source, archives = serve(server, "asvspoof2019_la")
    if refusal == "status":
        server.status["LA.zip"] = 403
    else:
        server.content_type = "text/html; charset=utf-8"
    db_root = tmp_path / "db" / "la19"
    with pytest.raises(ManualDownloadError) as caught:
        run_stage0(source, db_root, server)
    message = str(caught.value)
    target = tmp_path / "db" / "downloads" / "LA.zip"
    assert ("403" if refusal == "status" else "login") in message
    assert str(target) in message and source.landing_page in message
    assert_nothing_unpacked(db_root)

    # The file the user places by hand is verified and used; nothing is requested.
    server.status.clear()
    server.content_type = "application/octet-stream"
    target.write_bytes(archives["LA.zip"])
    server.requests.clear()
    run_stage0(source, db_root, server)
    assert server.requests == []
    assert (db_root / ".complete").is_file()


@pytest.mark.parametrize(
    "archive",
    [
        zip_bytes({"release_in_the_wild/meta.csv": b"", "../evil.txt": b"x"}),
        tar_gz_bytes({"release_in_the_wild/meta.csv": b"", "../../evil.txt": b"x"}),
        tar_gz_bytes({"/tmp/evil.txt": b"x"}),
        tar_gz_bytes({}, links={"release_in_the_wild/link": "/etc/passwd"}),
    ],
    ids=["zip-dotdot", "tar-dotdot", "tar-absolute", "tar-symlink"],
)
def test_unsafe_members_are_refused(archive, server, tmp_path):
    source, _ = serve(server, "in_the_wild")
    name = (
        "release_in_the_wild.tar.gz"
        if archive.startswith(b"\x1f\x8b")
        else "release_in_the_wild.zip"
    )
    source = replace(source, files=(replace(source.files[0], name=name),))
    server.files[name] = archive
    db_root = tmp_path / "db" / "itw"
    with pytest.raises(ArchiveError, match="refusing member"):
        run_stage0(source, db_root, server)
    assert not list(tmp_path.rglob("evil.txt"))
    assert_nothing_unpacked(db_root)


def test_counts_that_differ_from_the_description_are_an_error(server, tmp_path):
    source, _ = serve(server, "asvspoof2021_df")
    trl = replace(source.lists[0], count=611_829)
    source = replace(source, lists=(trl, source.lists[1]))
    db_root = tmp_path / "db" / "df21"
    with pytest.raises(
        LayoutError, match=r"ASVspoof2021.DF.cm.eval.trl.txt: 4 entries, expected 611,829"
    ):
        run_stage0(source, db_root, server)
    assert_nothing_unpacked(db_root)
    assert len(list((tmp_path / "db" / "downloads").glob("*.tar.gz"))) == 5  # kept


def test_a_leftover_staging_directory_is_cleared(server, tmp_path):
    source, _ = serve(server, "in_the_wild")
    db_root = tmp_path / "db" / "itw"
    leftover = staging_dir(db_root) / "release_in_the_wild"
    leftover.mkdir(parents=True)
    (leftover / "half-written.wav").write_bytes(b"RI")
    run_stage0(source, db_root, server)
    assert not (db_root / "release_in_the_wild" / "half-written.wav").exists()
    assert not staging_dir(db_root).exists()


def test_a_download_dir_inside_db_root_is_refused(server, tmp_path):
    source, _ = serve(server, "in_the_wild")
    db_root = tmp_path / "itw"
    with pytest.raises(CorpusError, match="inside --db_root"):
        run_stage0(source, db_root, server, download_dir=db_root / "downloads")
    assert server.requests == []


# --- existing corpora: never downloaded again --------------------------------------------


def test_a_marked_corpus_is_left_alone_without_a_request(server, tmp_path):
    source, _ = serve(server, "asvspoof2019_la")
    db_root = tmp_path / "la19"
    db_root.mkdir()
    (db_root / ".complete").write_text("done\n")
    run_stage0(source, db_root, server)
    assert server.requests == []


def unpack_by_hand(archives: dict[str, bytes], db_root: Path) -> None:
    for name, data in archives.items():
        if name.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                archive.extractall(db_root)
        else:
            with tarfile.open(fileobj=io.BytesIO(data)) as archive:
                archive.extractall(db_root, filter="data")


@pytest.mark.parametrize("name", ["asvspoof2019_la", "asvspoof2021_df", "asvspoof5"])
def test_an_unpacked_copy_without_marker_is_verified_and_marked(name, server, tmp_path):
    source, archives = serve(server, name)
    db_root = tmp_path / "existing"
    unpack_by_hand(archives, db_root)
    run_stage0(source, db_root, server)
    assert (db_root / ".complete").is_file()
    assert server.requests == []


def test_a_fake_or_real_copy_without_a_test_file_is_refused(server, tmp_path):
    source, archives = serve(server, "fake_or_real")
    db_root = tmp_path / "existing"
    unpack_by_hand(archives, db_root)
    (db_root / "for-norm/testing/real/file7.wav_16k.wav_norm.wav_mono.wav_silence.wav").unlink()
    with pytest.raises(
        LayoutError,
        match=r"1 of the Arena's 4,528 test files are missing \(e\.g\. "
        r"testing/real/file7\.wav_16k",
    ):
        run_stage0(source, db_root, server)
    assert not (db_root / ".complete").exists()


def test_an_incomplete_copy_is_an_error_naming_what_is_missing(server, tmp_path):
    source, archives = serve(server, "asvspoof2019_la")
    db_root = tmp_path / "existing"
    unpack_by_hand(archives, db_root)
    (db_root / "LA/ASVspoof2019_LA_eval/flac/LA_E_8688761.flac").unlink()
    with pytest.raises(LayoutError) as caught:
        run_stage0(source, db_root, server)
    message = str(caught.value)
    assert "1 of 3 listed files are missing from LA/ASVspoof2019_LA_eval/flac/" in message
    assert "LA_E_8688761.flac" in message
    assert not (db_root / ".complete").exists()
    assert server.requests == []


# --- the command line and the shell wrappers ---------------------------------------------


def test_cli_reports_a_count_mismatch_and_exits_1(server, tmp_path, capsys):
    serve(server, "in_the_wild")  # a 3-clip replica, checked against the real 31,779
    db_root = tmp_path / "db" / "itw"
    argv = ["--corpus", "in_the_wild", "--db_root", str(db_root), "--base_url", server.url]
    assert get_corpus_cli.main(argv) == 1
    assert "meta.csv: 3 entries, expected 31,779" in capsys.readouterr().err
    assert server.range_requests("release_in_the_wild.zip") == [None]


def wrapper_env() -> dict[str, str]:
    # The wrappers call `python`: the one running the tests, with antispoof installed.
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.parametrize("name", sorted(WRAPPERS))
def test_wrapper_help_and_usage(name):
    script = REPO / WRAPPERS[name]
    assert os.access(script, os.X_OK)
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert (
        f"Usage: {WRAPPERS[name]} [--download_dir DIR] [--base_url URL] <db_root>" in result.stdout
    )
    result = subprocess.run([str(script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and "Usage:" in result.stderr


def test_wrappers_and_db_sh_are_shellcheck_clean():
    scripts = [str(REPO / path) for path in WRAPPERS.values()] + [str(REPO / "conf/db.sh")]
    shellcheck = Path(sys.executable).parent / "shellcheck"
    result = subprocess.run([str(shellcheck), *scripts], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_wrapper_passes_its_options_through(server, tmp_path):
    serve(server, "in_the_wild")
    script = REPO / WRAPPERS["in_the_wild"]
    marked = tmp_path / "marked"
    marked.mkdir()
    (marked / ".complete").touch()
    result = subprocess.run(
        [str(script), str(marked)], capture_output=True, text=True, env=wrapper_env(), timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert server.requests == []

    downloads = tmp_path / "elsewhere"
    result = subprocess.run(
        [
            str(script),
            "--download_dir",
            str(downloads),
            "--base_url",
            server.url,
            str(tmp_path / "itw"),
        ],
        capture_output=True,
        text=True,
        env=wrapper_env(),
        timeout=60,
    )
    assert result.returncode == 1
    assert "expected 31,779" in result.stderr  # the real description: the replica is too small
    assert (downloads / "release_in_the_wild.zip").is_file()
