"""The waveform augmentation contract: sample-level, in the data-loader workers, in training only
(`waveform_augment:` in a config maps names to settings, applied in that order).

A waveform augmentation is a callable `(samples, generator) -> samples`
(antispoof.data.dataset.WaveformAugmentation): `samples` are the mono float32 samples of one
training crop, and it returns float32 samples of the SAME length. It draws ALL its randomness
from `generator`, the numpy Generator that ExampleReader.example seeds from (seed, epoch,
example index), never from the global `np.random`, python's `random` or torch, so that a
training run is reproducible whatever the number of workers. It never sees model weights, and
the features cached by stage 2 are of the audio before augmentation, so branches whose features
are cached run on the device instead when one is configured.

Importing this module registers every one in `WAVEFORM_AUGMENTATIONS`.
"""

from __future__ import annotations

from antispoof.data.dataset import WaveformAugmentation
from antispoof.registry import Registry

__all__ = ["WAVEFORM_AUGMENTATIONS", "WaveformAugmentation"]

WAVEFORM_AUGMENTATIONS: Registry[WaveformAugmentation] = Registry("waveform augmentation")

# Imported last, as each registers itself in the registry above: the config and the trainer
# import only this module, and the augmentations must be there by name when they do.
from antispoof.augment import rawboost  # noqa: E402, F401
