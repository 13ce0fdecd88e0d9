"""Input branches: `nn.Module`s with `forward(wav, lengths) -> (feats (B, C, T, F), frame_lengths)`
and a FeatureSpec known from their settings (antispoof.frontends.base).

Every frontend is registered in `FRONTENDS`; stage 2 runs the same module to fill the ark cache
that training reads, and training falls back to computing it on the device.
"""

from antispoof.frontends.base import FRONTENDS, FeatureSpec, Frontend
from antispoof.frontends.cqt import CQT
from antispoof.frontends.lfcc import LFCC
from antispoof.frontends.mfcc import MFCC, TorchaudioLFCC
from antispoof.frontends.raw import Raw
from antispoof.frontends.spectrogram import Spectrogram
from antispoof.frontends.ssl import SSL
from antispoof.frontends.stack import Stack
from antispoof.frontends.wav2vec2 import Wav2Vec2
from antispoof.frontends.whisper import Whisper

__all__ = [
    "CQT",
    "FRONTENDS",
    "LFCC",
    "MFCC",
    "SSL",
    "FeatureSpec",
    "Frontend",
    "Raw",
    "Spectrogram",
    "Stack",
    "TorchaudioLFCC",
    "Wav2Vec2",
    "Whisper",
]
