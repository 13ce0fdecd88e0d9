"""antispoof: recipes and models for audio anti-spoofing (spoofing / deepfake detection).

import antispoof
detector = antispoof.load("aasist")        # antispoof.inference.load: the details
result = detector.score_file("recording.flac")
result.score, result.decision, result.llr, result.segments
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from antispoof.inference import SpoofDetector


def load(model: str = "aasist", **settings: Any) -> SpoofDetector:
    """A detector ready to score recordings: a published model by name, an experiment
    directory, or an exported ONNX file (antispoof.inference.load gives every setting).
    Imported on first call: `import antispoof` stays light."""
    from antispoof.inference import load as load_detector

    return load_detector(model, **settings)
