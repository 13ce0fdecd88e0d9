"""antispoof: recipes and models for audio anti-spoofing (spoofing / deepfake detection)."""

__version__ = "0.1.0"
