"""Training objectives. Each loss owns its output layer and turns embeddings into scores."""

from antispoof.losses.base import BONAFIDE, LOSSES, SPOOF, Objective
from antispoof.losses.ocsoftmax import OCSoftmax
from antispoof.losses.softmax import Softmax

__all__ = ["BONAFIDE", "LOSSES", "SPOOF", "OCSoftmax", "Objective", "Softmax"]
