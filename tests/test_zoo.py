"""The zoo: models by name with their cards, the overlap rule, weights fetched with huggingface_hub
from a loopback server in the Hub's resolve layout (no network), verified and cached; the
released checkpoints' full layout (fairseq encoder + the authors' back end) mapped into the
detector, and a zoo model loaded end to end from the loopback hub."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import antispoof.zoo as zoo
from antispoof.bin import import_pretrained
from antispoof.config import load_config, resolve
from antispoof.data.batch import Batch
from antispoof.detector import build_detector
from antispoof.download import ChecksumError, DownloadError, ManualDownloadError
from antispoof.download.fetch import FetchOptions
from antispoof.experiment import load_detector
from antispoof.frontends.fairseq_import import fairseq_to_transformers
from antispoof.models.xlsr_aasist import official_backend_state_dict
from antispoof.registry import ConfigError
from antispoof.training.trainer import Trainer, TrainingData
from antispoof.zoo import ZOO, ZooModel, load_zoo, render_card, training_overlap, zoo_model
from antispoof.zoo.cards import (
    PROTOCOLS,
    Figure,
    HubWeights,
    ManualWeights,
    PackagedWeights,
    UrlWeights,
)
from antispoof.zoo.fairseq import split_checkpoint
from antispoof.zoo.weights import resolve_zoo_weights, sha256sum
from test_nes2net import official_layout as nes2net_layout
from test_xlsr_aasist import GOLDEN as XLSR_AASIST_GOLDEN
from test_xlsr_aasist import hidden_states, seeded_model_and_head
from test_xlsr_mamba import official_layout as mamba_layout
from tiny_configs import TINY_XLSR_LAYOUT
from toy_data import make_toy_data_dir
from zoo_weights import zoo_weight

REPO = Path(__file__).resolve().parents[1]
COMMIT = "0123456789abcdef0123456789abcdef01234567"
# XLS-R's layout in miniature with its convolution biases (fairseq's xlsr2_300m has them).
TINY_XLSR = {**TINY_XLSR_LAYOUT, "conv_bias": True}


# ---------------------------------------------------------------------------------------------
# the registry and the cards


def test_the_zoo_has_the_published_models_and_at_least_five_more():
    assert {"aasist", "aasist-l"} <= set(ZOO)
    assert len(ZOO) >= 6
    for name, model in ZOO.items():
        assert model.card.name == name == name.lower()


def test_names_are_case_insensitive_and_unknown_ones_are_listed():
    assert zoo_model("SSL-AASIST-LA") is ZOO["ssl-aasist-la"]
    assert zoo_model("XLSR-Mamba-DF") is ZOO["xlsr-mamba-df"]
    with pytest.raises(KeyError, match="known: aasist, aasist-l"):
        zoo_model("wav2vec-magic")


@pytest.mark.parametrize("name", sorted(ZOO))
def test_every_card_says_what_the_issue_asks(name):
    card = ZOO[name].card
    text = render_card(card)
    assert text.startswith(f"{name}: {card.title}")
    window = "the whole file" if card.window is None else f"{card.window:,} samples"
    flowing = " ".join(text.split())  # the card as one line, its wrapping undone
    for needed in (card.licence, window, card.score, card.code_commit):
        assert needed in flowing
    assert card.training_data and card.figures
    for figure in card.figures:
        assert figure.protocol in PROTOCOLS and figure.source
        assert f"[{figure.protocol}] ({figure.source})" in flowing
    if not isinstance(card.weights, PackagedWeights) and card.weights.sha256 is None:
        assert "not established" in text  # said, not invented
    if card.restricted_use:
        assert f"restricted {card.restricted_use}" in flowing
    # The config resolves (no weights, no download) and scores the card's window.
    config = zoo.zoo_config(name)
    if card.window is None:
        assert config["inference"]["mode"] == "full"
    else:
        assert config["inference"]["mode"] == "first"
        assert round(config["train"]["crop_seconds"] * 16000) == card.window


def test_a_figure_needs_a_known_protocol():
    with pytest.raises(ValueError, match="protocol"):
        Figure("In-the-Wild", "EER %", 1.0, "X", "nowhere")


def test_the_overlap_rule_names_training_data_in_the_evaluated_corpus():
    for spelling in ("ASVspoof 2019 LA", "asvspoof2019", "asvspoof2019_la", "LA2019"):
        assert training_overlap("ssl-aasist-la", spelling) == ["ASVspoof 2019 LA (train)"]
    assert training_overlap("XLSR-Mamba-LA", "In-the-Wild") == []
    assert training_overlap("aasist", "asvspoof2021_df") == []
    # AntiDeepfake's post-training set: 29 corpora (its protocols/README.md), In-the-Wild not
    # among them.
    assert len(ZOO["antideepfake-mms-300m"].card.training_data) == 29
    assert training_overlap("antideepfake-mms-300m", "asvspoof2021_df") == [
        "ASVspoof 2021 DF (all)"
    ]
    assert training_overlap("antideepfake-mms-1b", "mlaad") == ["MLAAD (all)"]
    assert training_overlap("antideepfake-mms-1b", "in_the_wild") == []


def test_restricted_licences_are_on_the_cards_that_have_them():
    restricted = {name for name, model in ZOO.items() if model.card.restricted_use}
    # Nes2Net-X's repository has no licence: said on its card, not a restriction found.
    assert "not stated" in ZOO["nes2net-x"].card.licence
    assert restricted == {"antideepfake-mms-300m", "antideepfake-mms-1b"}
    for name in restricted:
        assert "CC BY-NC-SA 4.0" in ZOO[name].card.licence


# ---------------------------------------------------------------------------------------------
# weights from a loopback hub


class Hub(BaseHTTPRequestHandler):
    """The Hub's resolve layout: `/<repo>/resolve/<revision>/<file>` answers HEAD with the
    commit, ETag and size huggingface_hub reads, and GET with the file."""

    def _file(self) -> bytes | None:
        parts = self.path.split("?")[0].lstrip("/").split("/")
        if len(parts) < 5 or parts[2] != "resolve":
            return None
        repo, revision, name = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
        self.server.requests.append((self.command, repo, revision, name))  # type: ignore[attr-defined]
        return self.server.files.get((repo, name))  # type: ignore[attr-defined]

    def _headers(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.end_headers()

    def do_HEAD(self) -> None:
        data = self._file()
        if data is None:
            self.send_error(404)
            return
        self._headers(data)

    def do_GET(self) -> None:
        data = self._file()
        if data is None:
            self.send_error(404)
            return
        self._headers(data)
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def hub(monkeypatch) -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    httpd.files = {}  # type: ignore[attr-defined]
    httpd.requests = []  # type: ignore[attr-defined]
    httpd.endpoint = f"http://127.0.0.1:{httpd.server_address[1]}"  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    yield httpd
    httpd.shutdown()
    httpd.server_close()


WEIGHTS = b"released detector weights" * 64


def hub_card(sha256: str | None, restricted: str | None = None):
    card = ZOO["xlsr-mamba-la"].card
    weights = HubWeights("authors/detector", "model.safetensors", COMMIT, sha256)
    return replace(card, weights=weights, restricted_use=restricted)


def fetch(card, hub, tmp_path, local=None):
    return resolve_zoo_weights(card, local, cache=tmp_path / "cache", endpoint=hub.endpoint)


def test_hub_weights_are_downloaded_once_verified_and_then_read_from_the_cache(hub, tmp_path):
    hub.files[("authors/detector", "model.safetensors")] = WEIGHTS
    card = hub_card(hashlib.sha256(WEIGHTS).hexdigest())
    found = fetch(card, hub, tmp_path)
    assert found.origin == "download" and found.verified
    assert found.path.read_bytes() == WEIGHTS
    assert found.path.is_relative_to(tmp_path / "cache/zoo/hub")
    # The revision asked for is the card's pinned commit.
    assert {request[2] for request in hub.requests} == {COMMIT}
    before = len(hub.requests)
    again = fetch(card, hub, tmp_path)
    assert (again.path, again.origin) == (found.path, "cache")
    assert len(hub.requests) == before  # no request once cached


def test_a_download_with_another_sha256_is_refused_and_moved_aside(hub, tmp_path):
    hub.files[("authors/detector", "model.safetensors")] = b"a login page, or other weights"
    card = hub_card(hashlib.sha256(WEIGHTS).hexdigest())
    with pytest.raises(ChecksumError, match="refused and moved to"):
        fetch(card, hub, tmp_path)
    bad = list((tmp_path / "cache").rglob("*.bad"))
    assert len(bad) == 1 and bad[0].read_bytes() == b"a login page, or other weights"
    # The right file is fetched on the next call.
    hub.files[("authors/detector", "model.safetensors")] = WEIGHTS
    assert fetch(card, hub, tmp_path).origin == "download"


def test_a_damaged_cached_copy_is_moved_aside_and_fetched_again(hub, tmp_path):
    hub.files[("authors/detector", "model.safetensors")] = WEIGHTS
    card = hub_card(hashlib.sha256(WEIGHTS).hexdigest())
    found = fetch(card, hub, tmp_path)
    found.path.resolve().write_bytes(b"truncated")
    again = fetch(card, hub, tmp_path)
    assert again.origin == "download" and again.path.read_bytes() == WEIGHTS


def test_without_a_published_sha256_the_file_is_recorded_not_refused(hub, tmp_path, caplog):
    hub.files[("authors/detector", "model.safetensors")] = WEIGHTS
    with caplog.at_level(logging.WARNING, logger="antispoof.zoo.weights"):
        found = fetch(hub_card(None), hub, tmp_path)
    assert not found.verified and found.sha256 == hashlib.sha256(WEIGHTS).hexdigest()
    assert found.sha256 in caplog.text


def test_a_restricting_licence_is_shown_before_the_first_download_only(hub, tmp_path, caplog):
    hub.files[("authors/detector", "model.safetensors")] = WEIGHTS
    card = hub_card(hashlib.sha256(WEIGHTS).hexdigest(), restricted="no commercial use")
    with caplog.at_level(logging.WARNING, logger="antispoof.zoo.weights"):
        fetch(card, hub, tmp_path)
    assert "no commercial use" in caplog.text and card.licence in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="antispoof.zoo.weights"):
        assert fetch(card, hub, tmp_path).origin == "cache"
    assert "no commercial use" not in caplog.text


def test_a_missing_hub_file_says_how_to_get_it_by_hand(hub, tmp_path):
    with pytest.raises(DownloadError, match="by hand and give it with --weights"):
        fetch(hub_card(None), hub, tmp_path)


def test_a_local_file_is_checked_against_the_card(hub, tmp_path):
    local = tmp_path / "mine.safetensors"
    local.write_bytes(WEIGHTS)
    card = hub_card(hashlib.sha256(WEIGHTS).hexdigest())
    assert fetch(card, hub, tmp_path, local).origin == "local"
    local.write_bytes(b"fine-tuned weights")
    with pytest.raises(ChecksumError, match="these are other weights"):
        fetch(card, hub, tmp_path, local)
    assert hub.requests == []


class Files(BaseHTTPRequestHandler):
    """Serves `server.files` by path, counting the requests (a Zenodo record's file URLs)."""

    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        data = self.server.files.get(self.path)  # type: ignore[attr-defined]
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def files() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    httpd.files = {}  # type: ignore[attr-defined]
    httpd.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


FAST = FetchOptions(timeout=5, retries=1, backoff=0, progress_interval=0)


def url_card(files, sha256: str | None):
    card = ZOO["antideepfake-mms-300m"].card
    url = f"http://127.0.0.1:{files.server_address[1]}/records/1/files/mms_300m.ckpt"
    return replace(card, weights=UrlWeights(url, sha256))


def test_url_weights_show_the_licence_then_download_once_into_the_cache(files, tmp_path, caplog):
    files.files["/records/1/files/mms_300m.ckpt"] = WEIGHTS
    card = url_card(files, hashlib.sha256(WEIGHTS).hexdigest())
    with caplog.at_level(logging.WARNING, logger="antispoof.zoo.weights"):
        found = resolve_zoo_weights(card, cache=tmp_path, options=FAST)
    assert "CC BY-NC-SA 4.0" in caplog.text and "non-commercial" in caplog.text
    assert (found.origin, found.verified) == ("download", True)
    assert found.path == tmp_path / "zoo/antideepfake-mms-300m/mms_300m.ckpt"
    assert not found.path.with_name("mms_300m.ckpt.part").exists()
    again = resolve_zoo_weights(card, cache=tmp_path, options=FAST)
    assert again.origin == "cache" and len(files.requests) == 1


def test_url_weights_with_another_sha256_are_refused(files, tmp_path):
    files.files["/records/1/files/mms_300m.ckpt"] = b"an error page"
    card = url_card(files, hashlib.sha256(WEIGHTS).hexdigest())
    with pytest.raises(ChecksumError, match="refused and moved to"):
        resolve_zoo_weights(card, cache=tmp_path, options=FAST)
    bad = tmp_path / "zoo/antideepfake-mms-300m/mms_300m.ckpt.bad"
    assert bad.read_bytes() == b"an error page"
    assert not bad.with_name("mms_300m.ckpt").exists()
    del files.files["/records/1/files/mms_300m.ckpt"]
    with pytest.raises(DownloadError, match="by hand and give it with --weights"):
        resolve_zoo_weights(card, cache=tmp_path, options=FAST)


def test_weights_only_a_browser_can_fetch_are_asked_for_by_hand(tmp_path):
    card = ZOO["ssl-aasist-la"].card
    assert isinstance(card.weights, ManualWeights)
    with pytest.raises(ManualDownloadError, match=r"drive\.google\.com.*best_SSL_model_LA\.pth"):
        resolve_zoo_weights(card, cache=tmp_path)
    saved = tmp_path / "zoo/ssl-aasist-la/best_SSL_model_LA.pth"
    saved.parent.mkdir(parents=True)
    saved.write_bytes(WEIGHTS)
    found = resolve_zoo_weights(card, cache=tmp_path)
    assert (found.path, found.origin) == (saved, "cache")
    assert found.sha256 == sha256sum(saved)


def test_packaged_models_are_antispoof_published(tmp_path):
    assert isinstance(ZOO["aasist"].card.weights, PackagedWeights)
    with pytest.raises(TypeError, match="ship with the package"):
        resolve_zoo_weights(ZOO["aasist"].card, cache=tmp_path)


# ---------------------------------------------------------------------------------------------
# the released checkpoints' full layout


def fairseq_encoder_layout(config: dict) -> list[tuple[str, tuple[int, ...]]]:
    """The keys and shapes of a fairseq `Wav2Vec2Model` (extractor_mode layer_norm, conv_bias,
    layer_norm_first: XLS-R's) of these transformers settings, pre-training parts included."""
    hidden, conv = config["hidden_size"], config["conv_dim"]
    layout: list[tuple[str, tuple[int, ...]]] = []
    channels = 1
    for index, (width, kernel) in enumerate(zip(conv, config["conv_kernel"], strict=True)):
        layout += [
            (f"feature_extractor.conv_layers.{index}.0.weight", (width, channels, kernel)),
            (f"feature_extractor.conv_layers.{index}.0.bias", (width,)),
            (f"feature_extractor.conv_layers.{index}.2.1.weight", (width,)),
            (f"feature_extractor.conv_layers.{index}.2.1.bias", (width,)),
        ]
        channels = width
    groups, positions = config["num_conv_pos_embedding_groups"], config["num_conv_pos_embeddings"]
    layout += [
        ("mask_emb", (hidden,)),
        ("layer_norm.weight", (channels,)),
        ("layer_norm.bias", (channels,)),
        ("post_extract_proj.weight", (hidden, channels)),
        ("post_extract_proj.bias", (hidden,)),
        ("quantizer.vars", (1, 640, 96)),
        ("quantizer.weight_proj.weight", (640, channels)),
        ("quantizer.weight_proj.bias", (640,)),
        ("project_q.weight", (96, 96)),
        ("project_q.bias", (96,)),
        ("final_proj.weight", (96, hidden)),
        ("final_proj.bias", (96,)),
        ("encoder.pos_conv.0.bias", (hidden,)),
        ("encoder.pos_conv.0.weight_g", (1, 1, positions)),
        ("encoder.pos_conv.0.weight_v", (hidden, hidden // groups, positions)),
        ("encoder.layer_norm.weight", (hidden,)),
        ("encoder.layer_norm.bias", (hidden,)),
    ]
    inner = config["intermediate_size"]
    for index in range(config["num_hidden_layers"]):
        layer = f"encoder.layers.{index}"
        for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
            layout += [
                (f"{layer}.self_attn.{proj}.weight", (hidden, hidden)),
                (f"{layer}.self_attn.{proj}.bias", (hidden,)),
            ]
        for norm in ("self_attn_layer_norm", "final_layer_norm"):
            layout += [(f"{layer}.{norm}.weight", (hidden,)), (f"{layer}.{norm}.bias", (hidden,))]
        layout += [
            (f"{layer}.fc1.weight", (inner, hidden)),
            (f"{layer}.fc1.bias", (inner,)),
            (f"{layer}.fc2.weight", (hidden, inner)),
            (f"{layer}.fc2.bias", (hidden,)),
        ]
    return layout


def tiny_zoo_model(name: str, model_conf: dict) -> ZooModel:
    """Zoo model `name` with XLS-R in miniature (TINY_XLSR, its two layers) and `model_conf`."""
    real = ZOO[name]

    def config() -> dict:
        settings = real.config()
        branch = settings["inputs"]["ssl"]
        # The ssl frontend names the encoder's family in its config; wav2vec2 knows it.
        tiny = {"model_type": "wav2vec2", **TINY_XLSR} if branch["frontend"] == "ssl" else TINY_XLSR
        branch["frontend_conf"] |= {"config": tiny, "layers": [2]}
        settings["model_conf"] = model_conf
        return settings

    return replace(real, config=config)


SMALL_AASIST = {"filts": [12, [1, 4], [4, 4], [4, 8], [8, 8]], "gat_dims": [8, 4]}


def ssl_aasist_official(ours: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our xlsr_aasist detector's `model.*`/`loss.*` tensors under Tak et al.'s names: the
    carriage under which tests/test_xlsr_aasist.py's golden values were recorded, written out
    here apart from the mapping under test; the official blocks' unused pre-activation BNs
    added (random), the output rows in the official order."""
    inverse = {
        "projection": "LL",
        "first_bn": "first_bn",
        "encoder_bn": "first_bn1",
        "spectral_position": "pos_S",
        "branches.0.master": "master1",
        "branches.1.master": "master2",
    }
    official: dict[str, torch.Tensor] = {}
    for key, value in ours.items():
        if key.startswith("loss.output."):
            official["out_layer." + key.removeprefix("loss.output.")] = value.flip(0)
            continue
        key = key.removeprefix("model.")
        if key.startswith("encoder."):
            _, block, part, name = key.split(".")
            part = {"bn": "bn2", "shortcut": "conv_downsample"}.get(part, part)
            official[f"encoder.{block}.0.{part}.{name}"] = value
            if block != "0" and part == "conv1" and name == "weight":
                channels = value.shape[1]  # the unused pre-activation BN of the official block
                for stat in ("weight", "bias", "running_mean", "running_var"):
                    official[f"encoder.{block}.0.bn1.{stat}"] = torch.rand(channels)
                official[f"encoder.{block}.0.bn1.num_batches_tracked"] = torch.tensor(0)
            continue
        for mine, theirs in inverse.items():
            if key == mine or key.startswith(mine + "."):
                official[theirs + key.removeprefix(mine)] = value
                break
        else:
            official[_aasist_official_graph_key(key)] = value
    return official


def ssl_aasist_backend_layout() -> list[tuple[str, tuple[int, ...]]]:
    """Tak et al.'s back-end keys and shapes at SMALL_AASIST over 16 dims."""
    detector = build_detector(resolve(tiny_zoo_model("ssl-aasist-la", SMALL_AASIST).config()))
    ours = {k: v for k, v in detector.state_dict().items() if k.startswith(("model.", "loss."))}
    return [(key, tuple(value.shape)) for key, value in ssl_aasist_official(ours).items()]


def _aasist_official_graph_key(ours: str) -> str:
    from antispoof.models.aasist import _OFFICIAL_LAYERS, _OFFICIAL_PARAMETERS

    if ours.startswith("attention."):
        return ours
    for official, mine in _OFFICIAL_LAYERS.items():
        if ours.startswith(mine + "."):
            part, *rest = ours.removeprefix(mine + ".").split(".")
            parameter = {v: k for k, v in _OFFICIAL_PARAMETERS.items()}[part]
            return ".".join([official, parameter, *rest])
    raise KeyError(ours)


def full_checkpoint(backend_layout, prefix: str = "ssl_model.model.") -> dict[str, torch.Tensor]:
    """A released checkpoint's layout: `prefix` + the fairseq encoder, then the back end, every
    tensor from zoo_weight."""
    state = {
        f"{prefix}{name}": zoo_weight(name, shape)
        for name, shape in fairseq_encoder_layout(TINY_XLSR)
    }
    return state | {name: zoo_weight(name, shape) for name, shape in backend_layout}


@pytest.mark.parametrize(
    ("name", "model_conf", "backend"),
    [
        ("ssl-aasist-la", SMALL_AASIST, ssl_aasist_backend_layout),
        ("xlsr-mamba-la", {"d_model": 16, "n_layers": 2}, lambda: mamba_layout(16, 2, dim=16)),
        ("nes2net-x", {"nes_ratio": [4, 2]}, lambda: nes2net_layout("mean", 16, 4, 2)),
        (
            "antideepfake-mms-300m",
            {},
            lambda: [("proj_fc.weight", (2, 16)), ("proj_fc.bias", (2,))],
        ),
    ],
)
def test_a_full_released_layout_maps_into_the_detector(name, model_conf, backend):
    model = tiny_zoo_model(name, model_conf)
    checkpoint = full_checkpoint(backend(), model.encoder_prefix)
    state = zoo.detector_state_dict(model, checkpoint)
    detector = build_detector(resolve(model.config()))
    detector.load_state_dict(state)  # strict: every key of ours filled, nothing left over
    # The encoder's tensors arrive unchanged under transformers' names.
    encoder, _ = split_checkpoint(checkpoint, model.encoder_prefix)
    heads = {"encoder_attention_heads": TINY_XLSR["num_attention_heads"]}
    mapped, _ = fairseq_to_transformers(encoder, heads)
    mapped.pop("masked_spec_embed")  # SpecAugment's mask vector: the frontend holds none
    assert len(mapped) == len(encoder) - 8  # mask_emb, quantizer (3), project_q (2), final_proj (2)
    ours = detector.state_dict()
    for key, value in mapped.items():
        assert torch.equal(ours[f"inputs.ssl.encoder.{key}"], value), key
    fc1 = f"{model.encoder_prefix}encoder.layers.1.fc1.weight"
    intermediate = "inputs.ssl.encoder.encoder.layers.1.feed_forward.intermediate_dense.weight"
    assert torch.equal(ours[intermediate], checkpoint[fc1])
    # A DataParallel prefix is accepted.
    prefixed = {f"module.{key}": value for key, value in checkpoint.items()}
    assert zoo.detector_state_dict(model, prefixed).keys() == state.keys()


def test_an_unknown_encoder_key_is_an_error():
    model = tiny_zoo_model("ssl-aasist-la", SMALL_AASIST)
    checkpoint = full_checkpoint(ssl_aasist_backend_layout(), model.encoder_prefix)
    checkpoint[f"{model.encoder_prefix}encoder.layers.0.adapter.weight"] = torch.ones(1)
    with pytest.raises(ValueError, match=r"not a key of a fairseq wav2vec 2\.0 encoder"):
        zoo.detector_state_dict(model, checkpoint)


def test_a_zoo_model_loads_end_to_end_from_the_hub(hub, tmp_path, monkeypatch):
    model = tiny_zoo_model("xlsr-mamba-la", {"d_model": 16, "n_layers": 2})
    checkpoint = full_checkpoint(mamba_layout(16, 2, dim=16))
    path = tmp_path / "model.safetensors"
    save_file({key: value.contiguous() for key, value in checkpoint.items()}, str(path))
    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    weights = HubWeights("AustinXiao/XLSR-Mamba-LA", "model.safetensors", COMMIT, sha256)
    card = replace(model.card, weights=weights)
    hub.files[("AustinXiao/XLSR-Mamba-LA", "model.safetensors")] = data
    monkeypatch.setitem(ZOO, "xlsr-mamba-la", replace(model, card=card))
    config, detector, record = load_zoo(
        "XLSR-Mamba-LA", cache=tmp_path / "cache", endpoint=hub.endpoint
    )
    assert record["found_in"] == "download" and record["sha256_verified"]
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert not detector.training
    # The back end holds the official tensors: the merge layer is conformer.LL.
    assert torch.equal(detector.model.merge.weight, checkpoint["conformer.LL.weight"])
    assert config["model"] == "xlsr_mamba"
    samples = 16000
    wav = 0.1 * torch.randn(2, samples, generator=torch.Generator().manual_seed(0))
    batch = Batch(
        utts=["a", "b"],
        wav=wav,
        lengths=torch.full((2,), samples),
        offsets=torch.zeros(2, dtype=torch.long),
        crop_samples=samples,
        frames={"ssl": detector.specs["ssl"].num_frames(samples)},
        target=torch.zeros(2, 2),
    )
    with torch.no_grad():
        scores = detector.score(batch)
    assert scores.shape == (2,) and torch.isfinite(scores).all()


def test_the_ssl_aasist_mapping_is_the_one_the_golden_values_were_recorded_under():
    model, head = seeded_model_and_head()
    ours = {f"model.{k}": v for k, v in model.state_dict().items()}
    ours |= {f"loss.{k}": v for k, v in head.state_dict().items()}
    mapped = official_backend_state_dict(ssl_aasist_official(ours))
    assert mapped.keys() == ours.keys()
    for key, value in ours.items():
        assert torch.equal(mapped[key], value), key
    # ... so the official weights give the official outputs through the mapping.
    shape, seed = (2, 201), 32
    with torch.no_grad():
        logits = head.logits(model({"ssl": hidden_states(shape, seed)}))
    official = torch.tensor(XLSR_AASIST_GOLDEN[(shape, seed)]["float32"])
    assert torch.allclose(logits, official.flip(1), atol=1e-4)


def test_import_pretrained_writes_a_zoo_model_as_an_experiment(hub, tmp_path, monkeypatch, capsys):
    model = tiny_zoo_model("xlsr-mamba-df", {"d_model": 16, "n_layers": 2})
    checkpoint = full_checkpoint(mamba_layout(16, 2, dim=16))
    path = tmp_path / "model.safetensors"
    save_file({key: value.contiguous() for key, value in checkpoint.items()}, str(path))
    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    weights = HubWeights("AustinXiao/XLSR-Mamba-DF", "model.safetensors", COMMIT, sha256)
    monkeypatch.setitem(
        ZOO, "xlsr-mamba-df", replace(model, card=replace(model.card, weights=weights))
    )
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("ANTISPOOF_CACHE", str(tmp_path / "cache"))
    hub.files[("AustinXiao/XLSR-Mamba-DF", "model.safetensors")] = data
    exp_dir = tmp_path / "exp" / "xlsr_mamba_df"
    assert import_pretrained.main(["XLSR-Mamba-DF", str(exp_dir)]) == 0
    record = json.loads((exp_dir / "pretrained.json").read_text())
    assert (record["name"], record["sha256"], record["sha256_verified"]) == (
        "xlsr-mamba-df",
        sha256,
        True,
    )
    assert (exp_dir / "MODEL_CARD.txt").read_text().startswith("xlsr-mamba-df: XLSR-Mamba (DF)")
    config, detector = load_detector(exp_dir)
    assert config["model"] == "xlsr_mamba"
    assert torch.equal(detector.model.merge.weight, checkpoint["conformer.LL.weight"])
    # Again: nothing to do, nothing fetched.
    best = exp_dir / "checkpoints/best.pt"
    before, requests = best.stat().st_mtime_ns, len(hub.requests)
    assert import_pretrained.main(["xlsr-mamba-df", str(exp_dir)]) == 0
    assert best.stat().st_mtime_ns == before and len(hub.requests) == requests
    with pytest.raises(SystemExit):
        import_pretrained.main(["no-such-model", str(tmp_path / "other")])
    assert "no zoo model 'no-such-model'" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# training from a zoo model (`init:`)


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("zoo_init")
    return TrainingData(
        make_toy_data_dir(root, "train", 2, 0), make_toy_data_dir(root, "dev", 2, 1)
    )


def test_a_config_starts_training_from_the_parts_of_a_zoo_model_it_names(
    hub, tmp_path, monkeypatch, toy_data
):
    model = tiny_zoo_model("xlsr-mamba-la", {"d_model": 16, "n_layers": 2})
    checkpoint = full_checkpoint(mamba_layout(16, 2, dim=16))
    path = tmp_path / "model.safetensors"
    save_file({key: value.contiguous() for key, value in checkpoint.items()}, str(path))
    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    weights = HubWeights("AustinXiao/XLSR-Mamba-LA", "model.safetensors", COMMIT, sha256)
    monkeypatch.setitem(
        ZOO, "xlsr-mamba-la", replace(model, card=replace(model.card, weights=weights))
    )
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("ANTISPOOF_CACHE", str(tmp_path / "cache"))
    hub.files[("AustinXiao/XLSR-Mamba-LA", "model.safetensors")] = data
    settings = model.config() | {"init": {"model": "XLSR-Mamba-LA", "parts": ["inputs", "model"]}}
    settings["train"] |= {"batch_size": 2, "num_workers": 0}
    config = resolve(settings)
    assert config["init"] == {"model": "xlsr-mamba-la", "parts": ["inputs", "model"]}
    trainer = Trainer(tmp_path / "exp", config, toy_data, torch.device("cpu"))
    head_before = trainer.detector.loss.output.weight.clone()
    trainer.resume_if_possible()  # a fresh start: the zoo model's weights
    expected = zoo.detector_state_dict(ZOO["xlsr-mamba-la"], checkpoint)
    state = trainer.detector.state_dict()
    for key, value in expected.items():
        if key.startswith(("inputs.", "model.")):
            assert torch.equal(state[key], value), key
    # The loss was not named: its output layer is the new one.
    assert torch.equal(trainer.detector.loss.output.weight, head_before)


def test_init_settings_are_checked_when_the_config_resolves():
    base = tiny_zoo_model("xlsr-mamba-la", {"d_model": 16, "n_layers": 2}).config()
    with pytest.raises(ConfigError, match="no zoo model 'nope'"):
        resolve(base | {"init": "nope"})
    with pytest.raises(ConfigError, match=r"init\.parts"):
        resolve(base | {"init": {"model": "xlsr-mamba-la", "parts": ["encoder"]}})
    with pytest.raises(ConfigError, match="is a xlsr_aasist model"):
        resolve(base | {"init": "ssl-aasist-la"})
    # The encoder alone of another architecture is fine.
    config = resolve(base | {"init": {"model": "ssl-aasist-la", "parts": ["inputs"]}})
    assert config["init"]["parts"] == ["inputs"]
    assert "init" not in resolve(base)  # configs without it resolve as before


def test_weights_of_other_shapes_are_refused_naming_the_keys(tmp_path, toy_data):
    # The published AASIST (shipped: no download) into the mini recipe's narrower AASIST.
    settings = load_config(REPO / "egs/mini/conf/aasist_small.yaml")
    settings |= {"init": {"model": "aasist", "parts": ["model"]}}
    settings["train"] = {**settings.get("train", {}), "batch_size": 2, "num_workers": 0}
    trainer = Trainer(tmp_path / "exp", resolve(settings), toy_data, torch.device("cpu"))
    with pytest.raises(ConfigError, match=r"do not fit this config's model: .*other shapes"):
        trainer.resume_if_possible()


def test_import_pretrained_names_every_zoo_model_in_its_usage():
    for name in ZOO:
        assert name in " ".join(import_pretrained.__doc__.split())
