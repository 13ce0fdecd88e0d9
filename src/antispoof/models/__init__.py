"""Back-end classifiers: features `(B, T, D)` to embeddings `(B, embedding_dim)`."""

from antispoof.models.base import MODELS, Backbone
from antispoof.models.resnet18 import ResNet18

__all__ = ["MODELS", "Backbone", "ResNet18"]
