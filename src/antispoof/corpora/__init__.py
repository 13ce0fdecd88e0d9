"""Corpus-specific parsing of official protocols into Kaldi data directories."""
