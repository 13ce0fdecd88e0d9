"""LFCC frontend: shapes against output_dim, the MATLAB framing, filters, DCT and deltas."""

import math

import pytest
import torch

from antispoof.frontends import FRONTENDS
from antispoof.frontends.lfcc import matlab_deltas, orthonormal_dct_matrix
from antispoof.registry import ConfigError


def lfcc(**conf):
    return FRONTENDS.build("lfcc", conf)


@pytest.mark.parametrize(
    ("conf", "dim"), [({}, 60), ({"with_deltas": False}, 20), ({"n_ceps": 13, "n_filters": 30}, 39)]
)
def test_output_dim_matches_features(conf, dim):
    frontend = lfcc(**conf)
    feats, _ = frontend(torch.randn(1, 16000), torch.tensor([16000]))
    assert frontend.output_dim == dim
    assert feats.shape[-1] == dim
    assert not frontend.trainable


def test_frame_count_follows_matlab_buffer_nodelay():
    # buffer(x, 320, 160, 'nodelay'): frames start every 160 samples while any sample is left
    # after the 160-sample overlap; the last frame is zero-padded. 1 s -> 99 frames.
    frontend = lfcc()
    samples = torch.tensor([100, 320, 321, 480, 481, 16000])
    assert frontend.num_frames(samples).tolist() == [1, 1, 2, 2, 3, 99]
    feats, lengths = frontend(torch.randn(2, 16000), torch.tensor([16000, 481]))
    assert lengths.tolist() == [99, 3]
    assert feats.shape == (2, 99, 60)


def test_batch_padding_does_not_change_an_utterance():
    frontend = lfcc()
    wav = torch.randn(12345)
    alone, _ = frontend(wav.unsqueeze(0), torch.tensor([12345]))
    padded = torch.cat([wav, torch.randn(3000)]).unsqueeze(0)
    in_batch, lengths = frontend(
        torch.cat([padded, torch.randn(1, 15345)]), torch.tensor([12345, 15345])
    )
    assert torch.allclose(in_batch[0, : lengths[0]], alone[0], atol=1e-5)


def test_tone_peaks_in_its_linear_filter():
    # A 2 kHz tone: the filters are 8000/21 Hz apart, so its energy peaks in filter 5
    # (centre 5 * 380.95 = 1905 Hz, 0-based index 4) or 6; inverting the orthonormal DCT of the
    # static coefficients recovers the log filterbank energies.
    frontend = lfcc(with_deltas=False)
    t = torch.arange(16000) / 16000
    feats, _ = frontend(torch.sin(2 * math.pi * 2000 * t).unsqueeze(0), torch.tensor([16000]))
    log_energies = feats[0, 10:-10] @ orthonormal_dct_matrix(20).float()
    peak = log_energies.mean(0).argmax().item()
    assert peak in (4, 5)


def test_orthonormal_dct_is_orthogonal():
    dct = orthonormal_dct_matrix(20)
    assert torch.allclose(dct @ dct.T, torch.eye(20, dtype=dct.dtype), atol=1e-12)


def test_matlab_deltas_are_unscaled_centred_differences_with_replicated_edges():
    x = torch.tensor([[1.0], [4.0], [9.0], [16.0]])
    # deltas.m with w=3: d[t] = x[t+1] - x[t-1]; edges replicate x[0] and x[-1].
    assert matlab_deltas(x, 3).flatten().tolist() == [3.0, 8.0, 12.0, 7.0]


def test_unknown_setting_is_an_error_naming_the_valid_ones():
    with pytest.raises(ConfigError, match=r"no setting 'n_cepstra'.*n_ceps"):
        lfcc(n_cepstra=20)
    with pytest.raises(ConfigError, match="cannot exceed"):
        lfcc(n_ceps=30)
