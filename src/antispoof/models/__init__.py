"""Back-end classifiers: named features `(B, C, T, F)` to embeddings `(B, embedding_dim)`."""

from antispoof.models.aasist import AASIST
from antispoof.models.base import MODELS, Backbone
from antispoof.models.late_fusion import LateFusion
from antispoof.models.mean_pool import MeanPool
from antispoof.models.mesonet import MesoNet
from antispoof.models.mpif_res2net import MPIFRes2Net
from antispoof.models.nes2net import Nes2NetX
from antispoof.models.res2net import Res2Net
from antispoof.models.resnet18 import ResNet18
from antispoof.models.wavespec import WaveSpec
from antispoof.models.xlsr_aasist import XLSRAASIST
from antispoof.models.xlsr_mamba import XLSRMamba

__all__ = [
    "AASIST",
    "MODELS",
    "XLSRAASIST",
    "Backbone",
    "LateFusion",
    "MPIFRes2Net",
    "MeanPool",
    "MesoNet",
    "Nes2NetX",
    "Res2Net",
    "ResNet18",
    "WaveSpec",
    "XLSRMamba",
]
