"""The dual-column bidirectional Mamba back end of XLSR-Mamba (Y. Xiao and R. K. Das, "XLSR-Mamba:
A Dual-Column Bidirectional State Space Model for Spoofing Attack Detection", IEEE SPL 2025),
written here from the authors' code (github.com/swagshaw/XLSR-Mamba, `model.py` and
`mamba_blocks.py`, on mamba-ssm 1.1.4), giving the same outputs for the same weights. The SSL
encoder (XLS-R 300M, fine-tuned) is the `wav2vec2` input branch; this model is everything after it.

hidden states `(B, 1, T, hidden)` -> Linear(hidden, d_model) per frame -> BN over the whole map
(one channel) -> SELU -> dropout 0.1 -> two columns of Mamba blocks, one over the frames in
order and one over them reversed -> RMSNorm (shared) -> attentive pooling over time per column
(a Linear(d_model, 1) score, softmaxed) -> the two pooled vectors concatenated -> Linear(2
d_model, d_model) -> dropout 0.1: the embedding (`d_model`, 144 officially). The official
classifier, Linear(d_model, 2), is the `softmax` loss's output layer (class order swapped: the
official class 1 is bona fide).

A Mamba block is mamba-ssm's pre-norm residual block: the residual stream is RMS-normalised and
fed to a Mamba mixer (in_proj to x and z, a causal depthwise conv of width `d_conv` and SiLU on
x, the input-dependent step size, B and C from x_proj/dt_proj, the selective scan with the skip
D, gated by SiLU(z), out_proj), whose output joins the stream before the next block.

The official code with `fused_add_norm` (its setting) ends each column in an unusual way, kept
here because the released weights were trained with it: the final norm reads the column's
residual stream *before the last block's mixer output is added*, plus the column's input (the
input in time order, also for the reversed column). The last block of each column therefore
reaches no output: its mixer and norm are not built here (DDP refuses parameters without
gradients), so this model has their parameters fewer than the official back end
(`xlsr_mamba_official_state_dict` drops them), and a column of `n_layers` blocks runs
`n_layers - 1` of them.

The selective scan runs in plain PyTorch (`selective_scan`, a sequential scan equal to mamba-ssm's
`selective_scan_ref`), so the model runs on a CPU; on a CUDA device mamba-ssm's kernel is used
when the package is installed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from antispoof.frontends.base import FeatureSpec
from antispoof.models.base import MODELS, Backbone, single_input

try:  # the CUDA kernel, where mamba-ssm is installed; the plain scan below otherwise
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn as _cuda_scan
except ImportError:  # pragma: no cover - depends on the machine
    _cuda_scan = None


def selective_scan(
    u: torch.Tensor,
    delta: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    c: torch.Tensor,
    skip: torch.Tensor,
    z: torch.Tensor,
    delta_bias: torch.Tensor,
) -> torch.Tensor:
    """Mamba's selective scan with an input-dependent B and C, the step size through softplus
    after `delta_bias`, the skip `D` and the gate SiLU(z), in plain PyTorch: the recurrence
    `h_t = exp(delta_t a) h_{t-1} + delta_t b_t u_t`, `y_t = c_t h_t + skip u_t`, run step by
    step (mamba-ssm's A, B, C, D).

    u, delta, z: `(batch, channels, L)`; a: `(channels, state)`; b, c: `(batch, state, L)`;
    skip, delta_bias: `(channels,)`. Computed in float32 (as mamba-ssm's reference and kernel do)
    or in float64 for float64 inputs; returns `(batch, channels, L)` in u's dtype."""
    dtype = u.dtype
    work = torch.float64 if dtype == torch.float64 else torch.float32
    u, delta, a, b, c = (t.to(work) for t in (u, delta, a, b, c))
    delta = F.softplus(delta + delta_bias.to(work)[:, None])
    decay = torch.exp(delta[..., None] * a[:, None, :])  # (batch, channels, L, state)
    drive = (delta * u)[..., None] * b.transpose(1, 2)[:, None]  # (batch, channels, L, state)
    state = u.new_zeros(u.shape[0], u.shape[1], a.shape[1], dtype=work)
    outputs = []
    for step in range(u.shape[2]):
        state = decay[:, :, step] * state + drive[:, :, step]
        outputs.append(torch.einsum("bdn,bn->bd", state, c[:, :, step]))
    y = torch.stack(outputs, dim=2) + u * skip.to(work)[:, None]
    return (y * F.silu(z.to(work))).to(dtype)


class MambaMixer(nn.Module):
    """mamba-ssm's `Mamba` mixer (its parameter names, so that weights carry over by name): `(B,
    L, d_model)` -> `(B, L, d_model)`. `d_inner = expand * d_model`; the step-size rank is
    `ceil(d_model / 16)`, mamba-ssm's `dt_rank="auto"`. Its initialisation is mamba-ssm's: A the
    S4D-real `1..d_state` per channel, D ones, the step-size bias the inverse softplus of steps
    drawn log-uniformly in [0.001, 0.1]."""

    def __init__(self, d_model: int, d_state: int = 16, d_conv: int = 4, expand: int = 2) -> None:
        super().__init__()
        d_inner = expand * d_model
        self.d_state = d_state
        self.dt_rank = math.ceil(d_model / 16)
        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=False)
        self.conv1d = nn.Conv1d(
            d_inner, d_inner, kernel_size=d_conv, groups=d_inner, padding=d_conv - 1
        )
        self.x_proj = nn.Linear(d_inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, d_inner)
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)
        bound = self.dt_rank**-0.5
        nn.init.uniform_(self.dt_proj.weight, -bound, bound)
        steps = torch.exp(torch.rand(d_inner) * (math.log(0.1) - math.log(0.001)) + math.log(0.001))
        steps = steps.clamp(min=1e-4)
        with torch.no_grad():
            self.dt_proj.bias.copy_(steps + torch.log(-torch.expm1(-steps)))
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1.0)).repeat(d_inner, 1))
        self.D = nn.Parameter(torch.ones(d_inner))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        length = hidden.shape[1]
        x, z = self.in_proj(hidden).transpose(1, 2).chunk(2, dim=1)  # (B, d_inner, L) each
        x = F.silu(self.conv1d(x)[..., :length])
        step, b, c = self.x_proj(x.transpose(1, 2)).split(
            [self.dt_rank, self.d_state, self.d_state], dim=-1
        )
        delta = (step @ self.dt_proj.weight.T).transpose(1, 2)  # the bias enters the scan
        a = -torch.exp(self.A_log.float())
        scan_args = (
            x,
            delta,
            a,
            b.transpose(1, 2).contiguous(),
            c.transpose(1, 2).contiguous(),
            self.D.float(),
            z,
            self.dt_proj.bias.float(),
        )
        if _cuda_scan is not None and x.is_cuda:
            y = _cuda_scan(*scan_args[:6], z=z, delta_bias=scan_args[7], delta_softplus=True)
        else:
            y = selective_scan(*scan_args)
        return self.out_proj(y.transpose(1, 2))


class MambaBlock(nn.Module):
    """mamba-ssm's pre-norm block, reading the residual stream: `mixer(RMSNorm(stream))`."""

    def __init__(self, d_model: int, d_state: int, d_conv: int, expand: int) -> None:
        super().__init__()
        self.mixer = MambaMixer(d_model, d_state, d_conv, expand)
        self.norm = nn.RMSNorm(d_model, eps=1e-5)

    def forward(self, stream: torch.Tensor) -> torch.Tensor:
        return self.mixer(self.norm(stream))


@MODELS.register("xlsr_mamba")
class XLSRMamba(Backbone):
    """XLSR-Mamba's back end over one input branch of frame features `(B, 1, T, F)`, the hidden
    states of one wav2vec 2.0 layer (`wav2vec2` frontend with one entry in `layers`); `F` (1024
    for XLS-R 300M) comes from the branch's FeatureSpec.

    `d_model`: the projection width and the embedding size (the official `--emb-size`, 144).
    `n_layers`: Mamba blocks per column as the official code builds them (its `--num_encoders
    // 2`, 6), the last of which reaches no output (module doc). `d_state`, `d_conv`, `expand`:
    the Mamba mixer's settings (mamba-ssm's defaults). `dropout`: before the columns and after
    the merge (0.1 officially). The defaults are the official settings.
    """

    def __init__(
        self,
        inputs: Mapping[str, FeatureSpec],
        input: str | None = None,
        d_model: int = 144,
        n_layers: int = 6,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.input = single_input(inputs, input, "xlsr_mamba")
        spec = inputs[self.input]
        if spec.channels != 1:
            raise ValueError(
                f"xlsr_mamba reads one channel of frame features (one wav2vec2 layer); input "
                f"{self.input!r} gives {spec.channels} channels: name one layer in its "
                "frontend_conf.layers"
            )
        for key, value in (("d_model", d_model), ("n_layers", n_layers), ("d_state", d_state)):
            if value < 1:
                raise ValueError(f"{key} must be positive, not {value}")
        if d_conv < 1 or expand < 1:
            raise ValueError(f"d_conv and expand must be positive, not {d_conv} and {expand}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), not {dropout}")
        self.embedding_dim = d_model
        self.projection = nn.Linear(spec.dim, d_model)
        self.first_bn = nn.BatchNorm2d(1)
        self.dropout = nn.Dropout(dropout)
        live = n_layers - 1  # the last block of each column reaches no output (module doc)
        self.forward_blocks = nn.ModuleList(
            MambaBlock(d_model, d_state, d_conv, expand) for _ in range(live)
        )
        self.backward_blocks = nn.ModuleList(
            MambaBlock(d_model, d_state, d_conv, expand) for _ in range(live)
        )
        self.final_norm = nn.RMSNorm(d_model, eps=1e-5)
        self.forward_pool = nn.Linear(d_model, 1)
        self.backward_pool = nn.Linear(d_model, 1)
        self.merge = nn.Linear(2 * d_model, d_model)

    def forward(self, feats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """`feats[input]`: `(B, 1, T, F)` frames, `T >= 1` -> embeddings `(B, d_model)`."""
        x = feats[self.input]
        if x.shape[1] != 1 or x.shape[2] < 1:
            raise ValueError(f"xlsr_mamba needs (B, 1, T >= 1, F) features, got {tuple(x.shape)}")
        x = F.selu(self.first_bn(self.projection(x)), inplace=True).squeeze(1)
        x = self.dropout(x)  # (B, T, d_model)
        pooled = []
        for blocks, column, pool in (
            (self.forward_blocks, x, self.forward_pool),
            (self.backward_blocks, x.flip(1), self.backward_pool),
        ):
            stream = column
            for block in blocks:
                stream = stream + block(stream)
            # The official final norm: the stream before the last block's output, plus the
            # column's input in time order (module doc).
            out = self.final_norm(stream + x)
            weights = pool(out).softmax(dim=1)  # (B, T, 1)
            pooled.append((weights * out).sum(dim=1))
        return self.dropout(self.merge(torch.cat(pooled, dim=1)))


def official_backend_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The official back end's weights (keys of XLSR-Mamba's `Model` without `ssl_model.`: `LL`,
    `first_bn`, `conformer.*`) as this detector's `model.*` and `loss.*` keys. The last block of
    each column (no output reaches it) is dropped; the classifier's rows are swapped into this
    package's class order (bona fide first)."""
    blocks = [
        int(key.split(".")[2]) for key in state if key.startswith("conformer.forward_layers.")
    ]
    last = max(blocks) if blocks else -1
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.startswith("LL."):
            out["model.projection." + key.removeprefix("LL.")] = value
        elif key.startswith("first_bn."):
            out["model." + key] = value
        elif key.startswith(("conformer.forward_layers.", "conformer.backward_layers.")):
            _, column, index, rest = key.split(".", 3)
            if int(index) == last:
                continue
            ours = "forward_blocks" if column == "forward_layers" else "backward_blocks"
            out[f"model.{ours}.{index}.{rest}"] = value
        elif key.startswith("conformer.norm_f."):
            out["model.final_norm." + key.removeprefix("conformer.norm_f.")] = value
        elif key.startswith("conformer.f_attention_pool."):
            out["model.forward_pool." + key.removeprefix("conformer.f_attention_pool.")] = value
        elif key.startswith("conformer.b_attention_pool."):
            out["model.backward_pool." + key.removeprefix("conformer.b_attention_pool.")] = value
        elif key.startswith("conformer.LL."):
            out["model.merge." + key.removeprefix("conformer.LL.")] = value
        elif key.startswith("conformer.classifier."):
            out["loss.output." + key.removeprefix("conformer.classifier.")] = value.flip(0)
        else:
            raise KeyError(f"not a key of the official XLSR-Mamba back end: {key}")
    return out
