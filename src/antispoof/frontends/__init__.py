"""Feature front-ends: `nn.Module`s with `forward(wav, lengths) -> (feats, lengths)`.

Every frontend is registered in `FRONTENDS`; stage 2 runs the same module to fill the ark cache
that training reads, and training falls back to computing it on the fly.
"""

from antispoof.frontends.base import FRONTENDS, Frontend
from antispoof.frontends.lfcc import LFCC

__all__ = ["FRONTENDS", "LFCC", "Frontend"]
