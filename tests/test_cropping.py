"""Training crops and scoring windows."""

import torch

from antispoof.data.cropping import random_crop, repeat_pad, segment_windows


def frames(n: int) -> torch.Tensor:
    return torch.arange(n, dtype=torch.float32).unsqueeze(1)


def test_repeat_pad_tiles_the_sequence():
    assert repeat_pad(frames(3), 7).flatten().tolist() == [0, 1, 2, 0, 1, 2, 0]


def test_random_crop_is_a_window_chosen_by_the_generator():
    crop_a = random_crop(frames(100), 10, torch.Generator().manual_seed(1))
    crop_b = random_crop(frames(100), 10, torch.Generator().manual_seed(1))
    assert torch.equal(crop_a, crop_b)
    values = crop_a.flatten()
    assert values.tolist() == list(range(int(values[0]), int(values[0]) + 10))
    assert random_crop(frames(4), 10, torch.Generator()).flatten().tolist()[:5] == [0, 1, 2, 3, 0]


def test_segment_windows_cover_the_whole_utterance():
    windows = segment_windows(frames(25), 10, 5)
    starts = windows[:, 0, 0].tolist()
    assert starts == [0, 5, 10, 15]  # the last window is flush with the end (15..24)
    assert windows[-1, -1, 0].item() == 24
    assert segment_windows(frames(6), 10, 5).shape == (1, 10, 1)
