"""PCM device model (published equations, large samples) and ReRAM cell helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from imcsim.circuits.analog_params import ReramParams, load_pcm, shipped
from imcsim.errors import ConfigError
from imcsim.tech import reram
from imcsim.tech.pcm import Pcm

N = 200_000
G_MAX = 25.0


@pytest.fixture(scope="module")
def pcm() -> Pcm:
    return Pcm(load_pcm())


def _phi(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def _folded_normal(mu: float, sigma: float) -> tuple[float, float]:
    mean = sigma * math.sqrt(2 / math.pi) * math.exp(-mu * mu / (2 * sigma * sigma)) \
        + mu * (1 - 2 * _phi(-mu / sigma))
    return mean, math.sqrt(mu * mu + sigma * sigma - mean * mean)


@pytest.mark.parametrize("g", [0.2, 0.5, 0.9])
def test_programming_noise(pcm, g):
    g_prog = pcm.program(np.full(N, g * G_MAX), np.random.default_rng(1))
    sigma = 0.26348 + 1.9650 * g - 1.1731 * g * g  # published polynomial, uS
    assert g_prog.mean() == pytest.approx(g * G_MAX, abs=4 * sigma / math.sqrt(N))
    assert g_prog.std() == pytest.approx(sigma, rel=0.01)


@pytest.mark.parametrize("g, mu, sigma", [
    (1.0, 0.049, 0.008),  # both clipped at their minima
    (0.05, -0.0155 * math.log(0.05) + 0.0244, -0.0125 * math.log(0.05) - 0.0059),
    (1e-6, 0.1, 0.045),  # clipped at their maxima
])
def test_drift_exponent_statistics(pcm, g, mu, sigma):
    got_mu, got_sigma = pcm.drift_mu_sigma(np.array([g * G_MAX]))
    assert got_mu[0] == pytest.approx(mu) and got_sigma[0] == pytest.approx(sigma)
    nu = pcm.drift_exponent(np.full(N, g * G_MAX), np.random.default_rng(2))
    mean, std = _folded_normal(mu, sigma)
    assert nu.min() >= 0
    assert nu.mean() == pytest.approx(mean, rel=0.01)
    assert nu.std() == pytest.approx(std, rel=0.01)


def test_drift_power_law(pcm):
    g_prog = np.full(N, 10.0)
    rng = np.random.default_rng(3)
    t = 20.0 * math.e ** 2  # ln(t / t0) = 2
    g_t = pcm.drift(g_prog, t, rng, g_target_us=g_prog)
    nu = -np.log(g_t / g_prog) / 2
    mean, _ = _folded_normal(*[float(v[0]) for v in pcm.drift_mu_sigma(np.array([10.0]))])
    assert nu.mean() == pytest.approx(mean, rel=0.01)
    nu_fixed = np.full(4, 0.05)
    assert np.allclose(pcm.drift(np.full(4, 10.0), 2000.0, nu=nu_fixed), 10.0 * 100 ** -0.05)
    assert np.allclose(pcm.drift(np.full(4, 10.0), 20.0, nu=nu_fixed), 10.0)  # t0: no drift yet
    assert np.allclose(pcm.drift(np.full(4, 10.0), 1.0, nu=nu_fixed), 10.0)  # before t0


@pytest.mark.parametrize("g, t", [(0.1, 86_400.0), (0.8, 3600.0), (0.002, 1e-6)])
def test_read_noise(pcm, g, t):
    g_t = np.full(N, 7.0)  # drifted conductance; Q follows the normalised target g
    # (cases where clipping at 0 uS cannot bias the sample)
    reads = pcm.read(g_t, t, np.random.default_rng(4), g_target_us=np.full(N, g * G_MAX))
    q = min(0.0088 / g ** 0.65, 0.2)
    sigma = 7.0 * q * math.sqrt(math.log((t + 250e-9) / (2 * 250e-9)))
    assert reads.mean() == pytest.approx(7.0, abs=4 * sigma / math.sqrt(N))
    assert reads.std() == pytest.approx(sigma, rel=0.01)


def test_no_read_noise_before_t_read(pcm):
    g = np.full(10, 5.0)
    assert np.array_equal(pcm.read(g, 100e-9, np.random.default_rng(0)), g)


def test_seeded_and_clipped(pcm):
    a = pcm.at_time(np.linspace(0, 25, 101), 86_400.0, np.random.default_rng(9))
    b = pcm.at_time(np.linspace(0, 25, 101), 86_400.0, np.random.default_rng(9))
    assert np.array_equal(a, b) and a.min() >= 0


def test_pcm_config_errors(tmp_path):
    raw = yaml.safe_load(shipped("pcm.yaml").read_text())
    raw["drift"]["mu"]["min"] = 0.5
    path = tmp_path / "pcm_variant.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as info:
        load_pcm(path)
    assert info.value.key == "drift.mu.min" and "pcm_variant.yaml" in str(info.value)
    raw["drift"]["mu"]["min"] = 0.049
    raw["read_noise"]["t_read_s"] = 0
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as info:
        load_pcm(path)
    assert info.value.key == "read_noise.t_read_s"


# ---------------------------------------------------------------- ReRAM (tech/reram.py)
RERAM = ReramParams(g_min_us=1.0, g_max_us=101.0, programming_sigma_us=2.0,
                    stuck_off_rate=0.02, stuck_on_rate=0.01)


def test_reram_faults_and_programming_noise():
    rng = np.random.default_rng(5)
    g = reram.program(np.full(N, 50.0), RERAM, rng)
    off, on = g == RERAM.g_min_us, g == RERAM.g_max_us
    assert off.mean() == pytest.approx(0.02, abs=0.002)
    assert on.mean() == pytest.approx(0.01, abs=0.0015)
    healthy = g[~off & ~on]
    assert healthy.mean() == pytest.approx(50.0, abs=0.03)
    assert healthy.std() == pytest.approx(2.0, rel=0.01)


def test_reram_lognormal_keeps_the_median():
    p = ReramParams(g_min_us=1.0, g_max_us=100.0, lognormal_sigma=0.1)
    g = reram.program(np.full(N, 40.0), p, np.random.default_rng(6))
    assert np.median(g) == pytest.approx(40.0, rel=0.005)
    assert np.log(g).std() == pytest.approx(0.1, rel=0.01)


def test_differential_pairs_round_trip():
    w = np.linspace(-3, 3, 13)
    g_pos, g_neg = reram.weights_to_pairs(w, 3.0, RERAM)
    assert g_pos.min() >= RERAM.g_min_us and g_pos.max() <= RERAM.g_max_us
    assert np.minimum(g_pos, g_neg).max() == RERAM.g_min_us  # one side of a pair is OFF
    assert np.allclose(reram.pairs_to_weights(g_pos, g_neg, 3.0, RERAM), w)


@settings(max_examples=50, deadline=None)
@given(bits=st.integers(1, 12), per_cell=st.integers(1, 4), seed=st.integers(0, 1000))
def test_bit_slicing_round_trip(bits, per_cell, seed):
    w = np.random.default_rng(seed).integers(-(2 ** bits) + 1, 2 ** bits, 20)
    slices = reram.bit_slices(np.abs(w), bits, per_cell)
    assert slices.shape[0] == -(-bits // per_cell) and slices.max() < 2 ** per_cell
    assert np.array_equal(reram.combine_slices(slices, per_cell), np.abs(w))
    g_pos, g_neg = reram.sliced_pairs(w, bits, per_cell, RERAM)
    assert np.allclose(reram.slices_to_weights(g_pos, g_neg, per_cell, RERAM), w)
