"""Write an experiment directory from a published model, to score and evaluate it as a trained one.

Usage:
    python -m antispoof.bin.import_pretrained <name> <exp_dir> [--weights FILE] [--force]

    cd egs/asvspoof2019
    python -m antispoof.bin.import_pretrained aasist exp/aasist_official
    ./run.sh --stage 4 --exp_dir exp/aasist_official     # score and evaluate dev and eval
    python -m antispoof.bin.import_pretrained xlsr-mamba-la exp/xlsr_mamba_la_official

<name>: a zoo model (antispoof.zoo, any case): aasist, aasist-l, ssl-aasist-la, ssl-aasist-df,
xlsr-mamba-la, xlsr-mamba-df, nes2net-x, antideepfake-mms-300m, antideepfake-mms-1b.
aasist and aasist-l: the weights come from --weights FILE, else the package's copy, else the
cache ($ANTISPOOF_CACHE), else the official URL, and must have the published md5
(antispoof.published). The other zoo models: from --weights FILE, else the cache, else their
official location (antispoof.zoo.weights: the Hub, Zenodo; weights only a browser can fetch are
asked for), checked against the card's sha256 where it has one. Writes:

  <exp_dir>/config.yaml          the resolved config: the raw waveform, the `aasist` model with
                                 the official settings, a softmax output layer scored by its
                                 bona fide logit (the official score), `inference.mode: first`
                                 on a crop of 64,600 samples (the official evaluation)
  <exp_dir>/checkpoints/best.pt  the weights as this package's detector state_dict, with the
                                 training settings that loading checks
  <exp_dir>/pretrained.json      where the weights came from: name, URL, md5, reference,
                                 published results, licence
  <exp_dir>/LICENSE, NOTICE      the weights' licence and notice, which copies must keep
                                 (aasist, aasist-l)
  <exp_dir>/MODEL_CARD.txt       the zoo model's card: training data, licence, window, score
                                 and published figures (the other zoo models)

The `optim`, `scheduler` and `train` blocks record how the authors trained (their
configuration); nothing is trained here. An <exp_dir> that already holds this import is left as
it is; one that holds anything else is an error unless --force, which moves it aside, whole, to
<exp_dir>.old-<time> (its scores and calibration belong to other weights) and imports anew.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.bin.prepare_exp import move_aside
from antispoof.checkpoint import save_checkpoint
from antispoof.config import save_config
from antispoof.markers import changed_settings, read_config, training_settings
from antispoof.published import (
    PACKAGE_DIR,
    PUBLISHED,
    provenance,
    published_detector,
    resolve_weights,
)
from antispoof.zoo import load_zoo, render_card, zoo_model

log = logging.getLogger("antispoof.import_pretrained")

PRETRAINED_FILE = "pretrained.json"
LICENCE_FILES = ("LICENSE", "NOTICE")
CARD_FILE = "MODEL_CARD.txt"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name", help="the zoo model (antispoof.zoo), e.g. aasist, xlsr-mamba-la")
    parser.add_argument("exp_dir", type=Path, help="the experiment directory to write")
    parser.add_argument("--weights", type=Path, help="a local copy of the published weights")
    parser.add_argument(
        "--force", action="store_true", help="move an existing exp_dir aside and import anew"
    )
    args = parser.parse_args(argv)
    try:
        card = zoo_model(args.name).card
    except KeyError as err:
        parser.error(err.args[0])
    if card.name not in PUBLISHED:
        return _import_zoo(card.name, args.exp_dir, args.weights, args.force)
    model = PUBLISHED[card.name]
    weights = resolve_weights(model, args.weights)
    log.info("%s weights: %s (%s, md5 %s)", model.title, weights.path, weights.origin, model.md5)
    config, detector = published_detector(model, weights)
    exp_dir: Path = args.exp_dir
    if _already_imported(exp_dir, model.name, {"md5": model.md5}, config):
        log.info("%s already holds this import of %s: nothing to do", exp_dir, model.title)
        return 0
    _make_room(exp_dir, model.title, args.force)
    save_config(config, exp_dir / "config.yaml")
    save_checkpoint(
        {
            "detector": detector.state_dict(),
            "training_settings": training_settings(config),
            "published": provenance(model, weights),
        },
        exp_dir / "checkpoints" / "best.pt",
    )
    for name in LICENCE_FILES:
        shutil.copyfile(PACKAGE_DIR / model.package_dir / name, exp_dir / name)
    record = {
        **provenance(model, weights),
        "licence_files": list(LICENCE_FILES),
        "note": (
            "weights trained by the authors with their code; config.yaml's optim, scheduler "
            "and train blocks record their configuration, nothing was trained here"
        ),
    }
    (exp_dir / PRETRAINED_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log.info(
        "wrote %s: score and evaluate it with run.sh --stage 4 --exp_dir %s (published: %s)",
        exp_dir,
        exp_dir,
        model.published,
    )
    return 0


def _import_zoo(name: str, exp_dir: Path, weights: Path | None, force: bool) -> int:
    """The import of a zoo model other than aasist and aasist-l (antispoof.zoo)."""
    card = zoo_model(name).card
    config, detector, record = load_zoo(name, weights)
    log.info("%s weights: %s (%s, sha256 %s)", card.title, record["weights"], record["found_in"],
             record["sha256"])  # fmt: skip
    if _already_imported(exp_dir, card.name, {"sha256": record["sha256"]}, config):
        log.info("%s already holds this import of %s: nothing to do", exp_dir, card.title)
        return 0
    _make_room(exp_dir, card.title, force)
    save_config(config, exp_dir / "config.yaml")
    save_checkpoint(
        {
            "detector": detector.state_dict(),
            "training_settings": training_settings(config),
            "published": record,
        },
        exp_dir / "checkpoints" / "best.pt",
    )
    (exp_dir / CARD_FILE).write_text(render_card(card) + "\n", encoding="utf-8")
    record = {
        **record,
        "card": CARD_FILE,
        "note": (
            "weights trained by the authors with their code; config.yaml's optim, scheduler "
            "and train blocks record their configuration, nothing was trained here"
        ),
    }
    (exp_dir / PRETRAINED_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %s: score and evaluate it with run.sh --stage 4 --exp_dir %s", exp_dir, exp_dir)
    return 0


def _make_room(exp_dir: Path, title: str, force: bool) -> None:
    """An empty or absent `exp_dir` is used as it is; one that holds something else is an error
    unless `force`, which moves it aside whole."""
    if exp_dir.is_dir() and any(exp_dir.iterdir()):
        if not force:
            raise ValueError(
                f"{exp_dir} exists and holds something else than this import of {title}; "
                "choose another directory, or --force to move it aside and import anew"
            )
        log.info("moved %s aside to %s", exp_dir, move_aside(exp_dir))


def _already_imported(exp_dir: Path, name: str, checksum: dict[str, str], config: dict) -> bool:
    """Whether `exp_dir` holds an import of these weights (`checksum`: their md5 or sha256, as
    pretrained.json records it) under this config."""
    try:
        record = json.loads((exp_dir / PRETRAINED_FILE).read_text(encoding="utf-8"))
        saved = read_config(exp_dir / "config.yaml")
    except (FileNotFoundError, json.JSONDecodeError):
        return False
    return (
        record.get("name") == name
        and all(record.get(key) == value for key, value in checksum.items())
        and not changed_settings(saved, config)
        and (exp_dir / "checkpoints" / "best.pt").is_file()
    )


if __name__ == "__main__":
    run_main(main, "import_pretrained")
