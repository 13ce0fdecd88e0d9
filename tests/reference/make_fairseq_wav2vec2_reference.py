"""Writes fairseq_wav2vec2_to_transformers.json: where transformers' own fairseq conversion puts
each tensor of a fairseq wav2vec 2.0 state dict of XLS-R's layout, and of wav2vec 2.0 Base's
(`fairseq_state_dict()` of tests/tiny_configs.py with TINY_FAIRSEQ_XLSR and TINY_FAIRSEQ_BASE),
which tests/test_fairseq_import.py checks `antispoof.frontends.fairseq_import` against.

transformers' conversion (`recursively_load_weights` of
`src/transformers/models/wav2vec2/convert_wav2vec2_original_pytorch_checkpoint_to_pytorch.py`)
is in its source tree only: neither its wheels nor its sdist ship the conversion scripts, so the
test suite cannot import it. Not part of the suite; run it with the script's path:

    python tests/reference/make_fairseq_wav2vec2_reference.py \
        transformers/src/transformers/models/wav2vec2/convert_wav2vec2_original_pytorch_checkpoint_to_pytorch.py

The script imports fairseq only for its command-line conversion; `fairseq` and
`fairseq.data.Dictionary` are stubbed, and the fairseq model is a stand-in object whose
`state_dict()` returns the state dict, which is all `recursively_load_weights` reads of it. The
transformers model is a `Wav2Vec2ForPreTraining` of the same architecture (written below from
the layout, not inferred by the code under test), so that the pre-training heads have somewhere
to go. Every tensor transformers set is equal to exactly one input tensor (they are all random,
so no two are alike), which is recorded by key; a tensor it did not set, or an input it did not
use, stops the script.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import types
from pathlib import Path

import torch
import transformers
from transformers import Wav2Vec2Config, Wav2Vec2ForPreTraining

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from tiny_configs import (  # noqa: E402
    TINY_FAIRSEQ_BASE,
    TINY_FAIRSEQ_XLSR,
    TINY_XLSR_LAYOUT,
    fairseq_state_dict,
)

OUT = Path(__file__).with_name("fairseq_wav2vec2_to_transformers.json")


class FairseqStandIn:
    """All that `recursively_load_weights` reads of a fairseq model."""

    def __init__(self, state: dict[str, torch.Tensor]) -> None:
        self.state = state

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.state


def load_conversion(path: Path) -> types.ModuleType:
    fairseq = types.ModuleType("fairseq")
    fairseq.data = types.ModuleType("fairseq.data")
    fairseq.data.Dictionary = object
    sys.modules.update({"fairseq": fairseq, "fairseq.data": fairseq.data})
    spec = importlib.util.spec_from_file_location("convert_wav2vec2", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def converted(conversion: types.ModuleType, cfg: dict) -> dict[str, dict[str, str]]:
    """`{"encoder": {transformers key: fairseq key}, "pretraining_heads": {...}}` of the fairseq
    state dict of `cfg`'s layout, as transformers' conversion maps it."""
    layer_norm = cfg["extractor_mode"] == "layer_norm"
    config = Wav2Vec2Config(
        hidden_size=cfg["encoder_embed_dim"],
        num_hidden_layers=cfg["encoder_layers"],
        num_attention_heads=cfg["encoder_attention_heads"],
        intermediate_size=cfg["encoder_ffn_embed_dim"],
        conv_dim=TINY_XLSR_LAYOUT["conv_dim"],
        conv_kernel=TINY_XLSR_LAYOUT["conv_kernel"],
        conv_stride=TINY_XLSR_LAYOUT["conv_stride"],
        conv_bias=cfg["conv_bias"],
        feat_extract_norm="layer" if layer_norm else "group",
        do_stable_layer_norm=cfg["layer_norm_first"],
        num_conv_pos_embeddings=cfg["conv_pos"],
        num_conv_pos_embedding_groups=cfg["conv_pos_groups"],
        num_codevector_groups=cfg["latent_groups"],
        num_codevectors_per_group=cfg["latent_vars"],
        codevector_dim=cfg["final_dim"],
        proj_codevector_dim=cfg["final_dim"],
    )
    model = Wav2Vec2ForPreTraining(config)
    fairseq = fairseq_state_dict(cfg)
    with torch.no_grad():
        conversion.recursively_load_weights(FairseqStandIn(fairseq), model, is_headless=True)

    encoder, heads = {}, {}
    for key, tensor in model.state_dict().items():
        sources = [
            name
            for name, value in fairseq.items()
            if value.shape == tensor.shape and torch.equal(value, tensor)
        ]
        if len(sources) != 1:
            raise SystemExit(f"{key} equals {len(sources)} input tensors: {sources}")
        if key.startswith("wav2vec2."):
            encoder[key.removeprefix("wav2vec2.")] = sources[0]
        else:
            heads[key] = sources[0]
    unused = sorted(set(fairseq) - set(encoder.values()) - set(heads.values()))
    if unused:
        raise SystemExit(f"transformers left these inputs unused: {unused}")
    return {"encoder": encoder, "pretraining_heads": heads}


def main(script: Path) -> None:
    conversion = load_conversion(script)
    reference = {
        "what": (
            "transformers key of Wav2Vec2Model -> the fairseq key whose tensor "
            "recursively_load_weights put there, for tests/tiny_configs.py's fairseq_state_dict() "
            "of TINY_FAIRSEQ_XLSR and TINY_FAIRSEQ_BASE"
        ),
        "script_sha256": hashlib.sha256(script.read_bytes()).hexdigest(),
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "xlsr": converted(conversion, TINY_FAIRSEQ_XLSR),
        "base": converted(conversion, TINY_FAIRSEQ_BASE),
    }
    OUT.write_text(json.dumps(reference, indent=1) + "\n")
    for layout in ("xlsr", "base"):
        tensors = {part: len(keys) for part, keys in reference[layout].items()}
        print(f"{OUT.name} {layout}: {tensors}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
