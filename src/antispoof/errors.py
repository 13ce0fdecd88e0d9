"""Errors of a run that a user can act on, defined without torch so that every entry point
(`bin/_cli.py`) can report them as one line while importing only what it needs."""

from __future__ import annotations


class DeviceError(RuntimeError):
    """The device asked for is absent, or the run asks for what is not supported on it."""


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the message names the batch's utterances."""
