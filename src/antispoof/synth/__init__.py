"""Deterministic synthetic corpora for tests and the mini recipe (speech-like, not real data).

`speech` synthesises bona fide speech, `attacks` the spoofing systems, `asv` the speaker
verification scores the t-DCF needs, and `la2019_layout` writes the ASVspoof 2019 LA layout.
"""
