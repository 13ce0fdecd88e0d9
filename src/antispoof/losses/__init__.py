"""Training objectives. Each loss owns its output layer and turns embeddings into scores."""

from antispoof.losses.base import LOSSES, Objective, resolved_loss_conf
from antispoof.losses.ocsoftmax import OCSoftmax
from antispoof.losses.single_center import SingleCenter
from antispoof.losses.softmax import Softmax
from antispoof.losses.sum import Sum

__all__ = [
    "LOSSES",
    "OCSoftmax",
    "Objective",
    "SingleCenter",
    "Softmax",
    "Sum",
    "resolved_loss_conf",
]
