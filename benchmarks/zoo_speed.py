"""CPU files per second and peak memory of the zoo's architectures on one 4-s window, this
package's implementation beside the authors' code, in one run.

Usage:
    python benchmarks/zoo_speed.py --official_dir DIR [--models ssl-aasist,xlsr-mamba,...] \
        [--repeats 5] [--threads 1] [--encoder xlsr-300m|small|none] [--out FILE.json]

Each file is one window of the model's input (64,600 samples; 66,800 for XLSR-Mamba, its 2021
evaluation window), scored alone (batch 1) in eval mode without gradients; files per second
are the best of `--repeats` timings of each implementation, ours and theirs taking turns, after
one warm-up pass. Peak memory: the rise of the resident set (VmHWM after /proc/self/clear_refs)
while the model is built with its weights and scores one file, measured in a forked child per
implementation, so that one model's allocations do not hide the other's, less what a child that
builds nothing shows.

The back ends are compared on the same random hidden states of the encoder's width (1024),
with the same random weights (tests/zoo_weights.py's, carried by the mapping the golden tests
check): the authors' models get a stand-in for fairseq whose SSL model returns those hidden
states, so that only the back ends run. The encoder they share, XLS-R 300M, is timed on its
own (`--encoder`): ours is transformers' Wav2Vec2Model with random weights at the real width
(`xlsr-300m`), or a small one (`small`) where memory or time is short; fairseq, which the
authors' code runs it with, is not installed here, so no official figure is given for it. A
zoo model's time per file is its encoder's plus its back end's.

`--official_dir` holds the authors' files, which are not part of this repository (fetch them
yourself):
  aasist/AASIST.py              clovaai/aasist models/AASIST.py
  ssl_aasist/model.py           TakHemlata/SSL_Anti-spoofing model.py
  xlsr_mamba/model.py, xlsr_mamba/mamba_blocks.py   swagshaw/XLSR-Mamba
  nes2net/wav2vec2_Nes2Net_X.py Liu-Tianchi/Nes2Net_ASVspoof_ITW model_scripts/
  xlsr_mamba/mamba_ssm/         mamba-ssm 1.1.4's package (with einops importable); on a
                                machine without its CUDA kernels, its Triton layernorm
                                replaced by its own reference functions and stand-ins for
                                causal_conv1d, causal_conv1d_cuda and selective_scan_cuda in
                                xlsr_mamba/stubs/ (this script then routes the Mamba mixer to
                                mamba_inner_ref / selective_scan_ref)
  antideepfake/models/W2V.py, W2V_configs.py, oc_softmax.py   nii-yamagishilab/AntiDeepfake
Missing files skip that model's official column.
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib
import importlib.util
import json
import math
import multiprocessing
import os
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from antispoof.frontends.base import FeatureSpec  # noqa: E402
from antispoof.losses import LOSSES  # noqa: E402
from antispoof.models import MODELS  # noqa: E402
from zoo_weights import zoo_weight  # noqa: E402

HIDDEN = {"value": None}  # what the fairseq stand-in returns
WINDOWS = {
    "aasist": 64600,
    "ssl-aasist": 64600,
    "xlsr-mamba": 66800,
    "nes2net-x": 64600,
    "antideepfake": 64600,
}
FRAME = 320  # XLS-R's hop; 400 samples of receptive field


def frames(samples: int) -> int:
    return (samples - 400) // FRAME + 1


def install_fairseq_stand_in() -> None:
    """A `fairseq` whose SSL model returns HIDDEN (the back ends alone run)."""

    class Encoder(torch.nn.Module):
        def __init__(self, *args: object) -> None:
            super().__init__()
            self.anchor = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x, mask=False, features_only=True):
            return {"x": HIDDEN["value"], "layer_results": None}

    fairseq = types.ModuleType("fairseq")
    fairseq.checkpoint_utils = SimpleNamespace(
        load_model_ensemble_and_task=lambda paths: ([Encoder()], None, None)
    )
    models = types.ModuleType("fairseq.models")
    wav2vec = types.ModuleType("fairseq.models.wav2vec")
    wav2vec.Wav2Vec2Model = Encoder
    wav2vec.Wav2Vec2Config = lambda **settings: SimpleNamespace(**settings)
    sys.modules.update(
        {"fairseq": fairseq, "fairseq.models": models, "fairseq.models.wav2vec": wav2vec}
    )


def load(directory: Path, module: str, *extra: str) -> types.ModuleType | None:
    """`module` imported from `directory` (and `extra` paths), or None where it is missing."""
    if not (directory / f"{module.replace('.', '/')}.py").is_file():
        return None
    sys.path[:0] = [str(directory), *extra]  # kept: the module imports its neighbours later
    # A name of its own: two authors' files are both called model.py.
    name = f"official_{directory.name}_{module.replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(
        name, directory / f"{module.replace('.', '/')}.py"
    )
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


def with_zoo_weights(model: torch.nn.Module) -> torch.nn.Module:
    state = model.state_dict()
    model.load_state_dict({k: zoo_weight(k, v.shape) for k, v in state.items()})
    return model.eval()


def ours(name: str, official_state: dict | None) -> Callable[[torch.Tensor], torch.Tensor]:
    """This package's back end + output layer over `(1, 1, T, 1024)` hidden states, with the
    official model's weights carried by the mapping the golden tests check (`official_state`),
    else with zoo_weight's by our own names."""
    specs = {"ssl": FeatureSpec(channels=1, dim=1024, hop_length=320, frame_length=400)}
    if name == "aasist":
        specs = {"raw": FeatureSpec(channels=1, dim=1, hop_length=1, frame_length=1)}
    architecture = {
        "aasist": "aasist",
        "ssl-aasist": "xlsr_aasist",
        "xlsr-mamba": "xlsr_mamba",
        "nes2net-x": "nes2net_x",
        "antideepfake": "mean_pool",
    }[name]
    model = with_zoo_weights(MODELS.build(architecture, {}, inputs=specs))
    head = with_zoo_weights(LOSSES.build("softmax", {}, embedding_dim=model.embedding_dim))
    if official_state is not None:
        mapped = _mapping(name)(
            {k: v for k, v in official_state.items() if not k.startswith(("ssl_model.", "m_ssl."))}
        )
        model.load_state_dict({k[6:]: v for k, v in mapped.items() if k.startswith("model.")})
        head.load_state_dict({k[5:]: v for k, v in mapped.items() if k.startswith("loss.")})
    branch = next(iter(specs))
    return lambda x: head.logits(model({branch: x}))


def _mapping(name: str) -> Callable[[dict], dict]:
    if name == "aasist":
        from antispoof.models.aasist import OFFICIAL_CLASS, _detector_key

        def aasist(state: dict) -> dict:
            out = {_detector_key(k): v for k, v in state.items()}
            out = {k: v for k, v in out.items() if k is not None}
            for key in ("loss.output.weight", "loss.output.bias"):
                out[key] = out[key][[OFFICIAL_CLASS[label] for label in (0, 1)]]
            return out

        return aasist
    module = {"ssl-aasist": "xlsr_aasist", "xlsr-mamba": "xlsr_mamba", "nes2net-x": "nes2net"}
    module = module.get(name, "mean_pool")
    return importlib.import_module(f"antispoof.models.{module}").official_backend_state_dict


def official(
    name: str, directory: Path
) -> tuple[Callable[[torch.Tensor], torch.Tensor], dict] | None:
    """The authors' model with the fairseq stand-in and its state_dict, or None where its files
    are missing."""
    if name == "aasist":
        module = load(directory / "aasist", "AASIST")
        conf = json.loads((REPO / "src/antispoof/pretrained/aasist/AASIST.conf").read_text())
        if module is None:
            return None
        model = with_zoo_weights(module.Model(conf["model_config"]))
        return (lambda x: model(x[:, 0, :, 0])[1]), model.state_dict()
    if name == "ssl-aasist":
        module = load(directory / "ssl_aasist", "model")
        if module is None:
            return None
        model = with_zoo_weights(module.Model(None, "cpu"))
    elif name == "xlsr-mamba":
        root = directory / "xlsr_mamba"
        module = load(root, "model", str(root / "stubs"))
        if module is None:
            return None
        if not torch.cuda.is_available():  # mamba-ssm's reference paths, as in its tests
            simple = importlib.import_module("mamba_ssm.modules.mamba_simple")
            interface = importlib.import_module("mamba_ssm.ops.selective_scan_interface")
            simple.mamba_inner_fn = interface.mamba_inner_ref
            simple.selective_scan_fn = interface.selective_scan_fn = interface.selective_scan_ref
        model = with_zoo_weights(
            module.Model(SimpleNamespace(emb_size=144, num_encoders=12), "cpu")
        )
    elif name == "nes2net-x":
        module = load(directory / "nes2net", "wav2vec2_Nes2Net_X")
        if module is None:
            return None
        settings = SimpleNamespace(  # the released model's (README)
            n_output_logits=2, Nes_ratio=[8, 8], dilation=2, pool_func="mean", SE_ratio=[1]
        )
        model = with_zoo_weights(module.wav2vec2_Nes2Net_no_Res_w_allT(settings, "cpu"))
    else:
        module = load(directory / "antideepfake", "models.W2V")
        if module is None:
            return None
        model = with_zoo_weights(module.Model("mms_300m"))

    def run(x: torch.Tensor) -> torch.Tensor:
        HIDDEN["value"] = x[:, 0]
        return model(torch.zeros(x.shape[0], 16000))

    return run, model.state_dict()


def encoder(kind: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Our XLS-R 300M (random weights, real width) or a small stand-in, on a waveform."""
    from antispoof.frontends import FRONTENDS
    from antispoof.zoo import XLSR_300M
    from tiny_configs import TINY_XLSR_LAYOUT

    config = XLSR_300M if kind == "xlsr-300m" else TINY_XLSR_LAYOUT
    layers = [config["num_hidden_layers"]]
    frontend = FRONTENDS.build("wav2vec2", {"config": config, "layers": layers, "normalize": False})
    frontend.eval()
    return lambda wav: frontend(wav, torch.tensor([wav.shape[1]]))[0]


def best_seconds(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    best = dict.fromkeys(runs, math.inf)
    for _ in range(repeats):
        for key, run in runs.items():
            started = time.perf_counter()
            run()
            best[key] = min(best[key], time.perf_counter() - started)
    return best


def _peak_child(build: Callable[[], Callable[[], object]], queue) -> None:
    torch.set_grad_enabled(False)
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # resets VmHWM to the current resident set
    before = _status("VmRSS")
    build()()  # the weights, then one pass
    queue.put((_status("VmHWM") - before) / 1024)


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])  # kB
    raise KeyError(field)


def peak_mib(build: Callable[[], Callable[[], object]]) -> float:
    """The rise of the resident set while `build()` makes a model and it runs once, in a
    forked child (MiB)."""
    gc.collect()
    gc.freeze()  # the child's garbage collector then leaves the parent's pages shared
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_peak_child, args=(build, queue))
    child.start()
    value = queue.get()
    child.join()
    gc.unfreeze()
    return value - _floor()


@functools.cache
def _floor() -> float:
    """What a child that builds nothing shows (copied pages, the queue): taken off each figure."""
    gc.collect()
    gc.freeze()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_peak_child, args=(_nothing, queue))
    child.start()
    value = queue.get()
    child.join()
    gc.unfreeze()
    return value


def _nothing() -> Callable[[], None]:
    return lambda: None


def timed(
    makers: dict[str, Callable[[], Callable[[torch.Tensor], torch.Tensor]]],
    x: torch.Tensor,
    repeats: int,
) -> dict[str, dict[str, float]]:
    """Files per second (best of `repeats`, taking turns) and peak MiB of each implementation."""
    models = {key: make() for key, make in makers.items()}
    with torch.no_grad():
        for model in models.values():
            model(x)  # warm-up
        seconds = best_seconds({key: functools.partial(m, x) for key, m in models.items()}, repeats)
        return {
            key: {
                "files_per_s": 1 / seconds[key],
                "peak_mib": peak_mib(functools.partial(_bound, makers[key], x)),
            }
            for key in models
        }


def _bound(make: Callable[[], Callable[[torch.Tensor], torch.Tensor]], x: torch.Tensor):
    return functools.partial(make(), x)


def measure(name: str, x: torch.Tensor, directory: Path, repeats: int) -> dict:
    """One zoo architecture, ours beside the authors' where their files are there."""
    found = official(name, directory)
    state = found[1] if found is not None else None
    makers = {"ours": functools.partial(ours, name, state)}
    if found is not None:
        makers["official"] = lambda: official(name, directory)[0]
    row: dict = timed(makers, x, repeats)
    if found is not None:
        with torch.no_grad():
            difference = ours(name, state)(x).flip(1) - found[0](x)
        row["max_abs_logit_difference"] = float(difference.abs().max())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--official_dir", type=Path, required=True)
    parser.add_argument("--models", default=",".join(WINDOWS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--encoder", choices=("xlsr-300m", "small", "none"), default="xlsr-300m")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    install_fairseq_stand_in()
    results = {"threads": args.threads, "torch": torch.__version__, "models": {}}
    generator = torch.Generator().manual_seed(0)
    for name in args.models.split(","):
        samples = WINDOWS[name]
        if name == "aasist":
            x = 0.1 * torch.randn(1, 1, samples, 1, generator=generator)
        else:
            x = torch.randn(1, 1, frames(samples), 1024, generator=generator)
        row = measure(name, x, args.official_dir, args.repeats)
        results["models"][name] = {"window_samples": samples, **row}
        print(name, json.dumps(row), flush=True)
    if args.encoder != "none":
        wav = 0.1 * torch.randn(1, 64600, generator=generator)
        makers = {"ours": functools.partial(encoder, args.encoder)}
        row: dict = timed(makers, wav, max(1, args.repeats // 2))
        row["official"] = "fairseq not installed: not measured"
        results["models"][f"encoder ({args.encoder})"] = {"window_samples": 64600, **row}
        print(f"encoder ({args.encoder})", json.dumps(row), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
