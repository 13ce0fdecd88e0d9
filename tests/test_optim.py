"""The per-step Noam schedule with plateau-driven decay of Li et al.'s Res2Net recipe."""

import math

import pytest
import torch

from antispoof.optim import SCHEDULERS


def noam(**settings):
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=3e-4)
    return optimizer, SCHEDULERS.build("noam_plateau", settings, optimizer=optimizer)


def test_noam_warms_up_then_decays_as_the_inverse_square_root():
    optimizer, schedule = noam(d_model=64, warmup_steps=1000)
    assert optimizer.param_groups[0]["lr"] == 3e-4  # the first step runs at Adam's own lr
    rates = []
    for _ in range(4000):
        schedule.step()
        rates.append(optimizer.param_groups[0]["lr"])
    peak = max(range(len(rates)), key=rates.__getitem__) + 1
    assert peak == 1000
    assert rates[999] == pytest.approx(64**-0.5 * 1000**-0.5)
    assert rates[0] == pytest.approx(64**-0.5 * 1000**-1.5)  # linear warm-up from step 1
    assert rates[3999] / rates[999] == pytest.approx(math.sqrt(1000 / 4000))


def test_delta_doubles_after_more_than_patience_epochs_without_improvement():
    optimizer, schedule = noam(warmup_steps=10, patience=3)
    figures = [0.5, 0.4, 0.45, 0.41, 0.42, 0.43, 0.44, 0.46, 0.47, 0.48, 0.39]
    deltas = []
    for figure in figures:
        schedule.epoch_end(figure)
        deltas.append(schedule.delta)
    # Li et al.'s rule: the fourth stalled epoch in a row doubles, and the count starts again.
    assert deltas == [1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4]
    schedule.step()
    schedule.step()
    assert schedule.steps == 8  # each step now advances the schedule by delta = 4
    assert optimizer.param_groups[0]["lr"] == pytest.approx(schedule.learning_rate(8))


def test_noam_state_round_trips_for_resumption():
    _, schedule = noam(warmup_steps=10)
    for figure in (0.3, 0.4, 0.4, 0.4, 0.4):
        schedule.epoch_end(figure)
        schedule.step()
    _, restored = noam(warmup_steps=10)
    restored.load_state_dict(schedule.state_dict())
    assert restored.state_dict() == schedule.state_dict()
    assert restored.delta == 2


def test_noam_refuses_meaningless_settings():
    with pytest.raises(ValueError, match="warmup_steps >= 1"):
        noam(warmup_steps=0)
