"""Run a frozen frontend over a `wav.scp` into a Kaldi ark/scp feature store (frames x dims).

Usage:
    python -m antispoof.bin.make_feats --config exp/<tag>/config.yaml \
        --data_dir data/train/split2/1 --out dump/<frontend_tag>/train/feats.1

Reads only the `frontend` and `frontend_conf` of the config, and records them as
`frontend.yaml` beside the output, so a cache always says which settings made it. Writes
`<out>.ark`, `<out>.scp` and `<out>.utt2num_frames` (the ark under a temporary name, renamed at
the end, so an interrupted job leaves nothing that looks finished).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import kaldiio
import torch

from antispoof.bin._cli import run_main
from antispoof.config import save_config
from antispoof.data.audio import read_audio
from antispoof.data.datadir import line_origin
from antispoof.data.kaldi_files import iter_table
from antispoof.frontends import FRONTENDS
from antispoof.markers import read_config
from antispoof.registry import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config", required=True, type=Path, help="YAML with frontend, frontend_conf"
    )
    parser.add_argument("--data_dir", required=True, type=Path)
    parser.add_argument("--out", required=True, help="output prefix (without .ark/.scp)")
    args = parser.parse_args(argv)
    config = read_config(args.config)
    if not config.get("frontend"):
        raise ConfigError(f"{args.config} names no frontend")
    frontend = FRONTENDS.build(config["frontend"], config.get("frontend_conf"))
    if frontend.trainable:
        raise ValueError(f"frontend {config['frontend']!r} is trainable: it cannot be cached")
    frontend.eval()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    ark, scp, frames_file = (
        out.with_name(f"{out.name}.{ext}") for ext in ("ark", "scp", "utt2num_frames")
    )
    tmp_ark = ark.with_name(ark.name + ".tmp")
    tmp_scp = scp.with_name(scp.name + ".tmp")
    # Errors name the line of the directory split (data/train/wav.scp), not of the part.
    origin = line_origin(args.data_dir)
    num_frames = []
    with torch.no_grad(), kaldiio.WriteHelper(f"ark,scp:{tmp_ark},{tmp_scp}") as writer:
        for line_number, utt, path in iter_table(args.data_dir / "wav.scp"):
            wav = torch.from_numpy(
                read_audio(path, origin.where(line_number), frontend.sample_rate)
            )
            feats, _ = frontend(wav.unsqueeze(0), torch.tensor([wav.numel()]))
            writer(utt, feats[0].numpy())
            num_frames.append(f"{utt} {feats.shape[1]}\n")
    # The scp names the temporary ark; point it at the final name before renaming both.
    scp_text = tmp_scp.read_text(encoding="utf-8").replace(str(tmp_ark), str(ark))
    os.replace(tmp_ark, ark)
    scp.write_text(scp_text, encoding="utf-8")
    tmp_scp.unlink()
    frames_file.write_text("".join(num_frames), encoding="utf-8")
    save_config(
        {"frontend": config["frontend"], "frontend_conf": config["frontend_conf"]},
        out.parent / "frontend.yaml",
    )
    return 0


if __name__ == "__main__":
    run_main(main, "make_feats")
