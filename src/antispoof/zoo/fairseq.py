"""fairseq-named checkpoints of released detectors, read without fairseq.

The released XLS-R detectors (Tak et al.'s SSL-AASIST, XLSR-Mamba) save their whole `Model`: the
fine-tuned fairseq wav2vec 2.0 under `ssl_model.model.*` and the back end under the authors'
names. `split_checkpoint` separates the two; antispoof.frontends.fairseq_import maps the encoder
to transformers' `Wav2Vec2Model` names (what the `wav2vec2` and `ssl` frontends hold); each back
end maps its own keys (`official_backend_state_dict` of its model module).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

ENCODER_PREFIX = "ssl_model.model."


def split_checkpoint(
    state: Mapping[str, torch.Tensor], prefix: str = ENCODER_PREFIX
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """`(encoder, back end)`: the weights under `prefix` (the encoder: `ssl_model.model.` for
    Tak et al.'s and XLSR-Mamba's, `m_ssl.model.` for AntiDeepfake's) without it, and the rest.
    A `module.` prefix (DataParallel) is removed first."""
    encoder: dict[str, torch.Tensor] = {}
    backend: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        key = key.removeprefix("module.")
        if key.startswith(prefix):
            encoder[key.removeprefix(prefix)] = value
        else:
            backend[key] = value
    return encoder, backend


def read_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """A released checkpoint's state_dict: safetensors by suffix, else a torch file loaded with
    `weights_only=True` (a `state_dict` key holding it is looked into)."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if (
        isinstance(state, Mapping)
        and "state_dict" in state
        and isinstance(state["state_dict"], Mapping)
    ):
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise ValueError(f"{path}: not a state_dict (a {type(state).__name__})")
    return dict(state)
