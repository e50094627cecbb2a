"""The analog functional path's converters, stored weights and injected noise
(imcsim/functional/noisy.py), the majority vote, the --snr-db / --votes options and
arch overrides that reach into a referenced circuit file."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from imcsim.arch import load_arch
from imcsim.circuits.photonic import PhotonicCore
from imcsim.cli import main
from imcsim.errors import ConfigError
from imcsim.functional.accuracy import majority
from imcsim.functional.graph_exec import LinearCall, QuantInfo, run_graph
from imcsim.functional.noisy import (
    CrossbarHook,
    PhotonicHook,
    dac_rows,
    quantize_weights,
    snr_noise,
)
from imcsim.tech.pcm import Pcm
from imcsim.workload.graph import Graph, Node, Tensor
from tests.conftest import ARCH, ROOT

NET = str(ROOT / "workloads" / "digits" / "digits_cnn_sparse.yaml")


def quiet_pcm() -> Pcm:
    p = load_arch(ARCH / "pcm.yaml").crossbar.device
    return Pcm(dataclasses.replace(p, programming=dataclasses.replace(
        p.programming, c0=0.0, c1=0.0, c2=0.0)))


def call(rows, weights, inputs=0, x_quant=None, name="w"):
    node = Node("n", "MatMul", ["x", name], ["y"], {})
    return LinearCall(node, np.asarray(rows, float), np.asarray(weights, float), None, None,
                      x_quant, 0, inputs)


def test_snr_noise_has_the_asked_power_relative_to_each_input():
    rng = np.random.default_rng(0)
    exact = np.concatenate([rng.normal(0, 1.0, (500, 40)), rng.normal(0, 30.0, (500, 40))])
    for snr_db in (0.0, 10.0, -3.0):
        noise = snr_noise(exact, 2, snr_db, np.random.default_rng(1))
        for half in (slice(0, 500), slice(500, 1000)):  # each input against its own power
            ratio = np.mean(exact[half] ** 2) / np.mean(noise[half] ** 2)
            assert 10 * np.log10(ratio) == pytest.approx(snr_db, abs=0.1)


def test_crossbar_noise_enters_before_the_adc_and_photonic_noise_is_averaged():
    rng = np.random.default_rng(2)
    rows, w = rng.uniform(0, 1, (400, 30)), rng.normal(0, 1, (20, 30))
    exact = rows @ w.T
    y = CrossbarHook(quiet_pcm(), np.random.default_rng(3), snr_db=0.0)(call(rows, w, 400))
    assert np.mean((y - exact) ** 2) / np.mean(exact ** 2) == pytest.approx(1.0, rel=0.05)
    clipped = CrossbarHook(quiet_pcm(), np.random.default_rng(3), adc_bits=8, snr_db=0.0)(
        call(rows, w, 400))
    full = np.abs(exact / np.abs(w).max(axis=1)).max() * np.abs(w).max(axis=1)
    assert np.all(np.abs(clipped) <= full * (1 + 1e-9))  # the ADC's range clips the noise
    injected = []
    for k in (1, 4):  # K averaged readings each carry it: 1/K of the power
        ph = load_arch(ARCH / "photonic.yaml", {"photonic.precision.default_repeats": k})
        core = PhotonicCore.from_params(ph.photonic, ph.clock.frequency_hz)
        var = [np.mean((PhotonicHook(core, np.random.default_rng(4), snr)(call(rows, w, 400))
                        - exact) ** 2) for snr in (0.0, None)]
        injected.append((var[0] - var[1]) / np.mean(exact ** 2))
    assert injected[0] == pytest.approx(1.0, rel=0.05)
    assert injected[0] / injected[1] == pytest.approx(4.0, rel=0.1)


def test_dac_applies_quantizer_codes_and_drops_the_low_bits_of_wider_ones():
    q = QuantInfo(np.array(0.5), np.array(0.0), 8, False)
    rows = np.array([[0.0, 18.5, 100.0, 127.5]])  # codes 0, 37, 200, 255
    assert np.array_equal(dac_rows(rows, q, 8), rows)
    codes = np.array([0, 37, 200, 255])
    kept = np.clip(np.round(codes / 16), 0, 15) * 16
    assert np.array_equal(dac_rows(rows, q, 4), kept[None] * 0.5)
    signed = QuantInfo(np.array(0.25), np.array(0.0), 4, True)
    assert np.array_equal(dac_rows(np.array([[-1.75, 0.5, 1.75]]), signed, 3),
                          np.array([[-1.5, 0.5, 1.5]]))  # codes -7, 2, 7 -> -6, 2, 6
    free = np.array([[0.0, 0.3, 1.0]])  # no quantizer known: 2^bits levels over the range
    assert np.allclose(dac_rows(free, None, 2), [[0.0, 1 / 3, 1.0]])


def test_weights_are_rounded_per_output_channel_to_the_stored_bits():
    rng = np.random.default_rng(5)
    w = rng.normal(0, 1, (6, 12)) * np.array([1e-3, 0.1, 1, 10, 100, 1e4])[:, None]
    rows = np.eye(12)
    y = CrossbarHook(quiet_pcm(), np.random.default_rng(0), weight_bits=3)(call(rows, w))
    m = np.abs(w).max(axis=1, keepdims=True)
    expected = quantize_weights(w / m, 3) * m
    assert np.allclose(y, expected.T, rtol=1e-12, atol=0)
    assert np.all(np.isin(np.round(y.T / m * 7, 9), np.arange(-7, 8)))


def test_the_steps_of_an_unrolled_network_read_the_same_devices():
    """Two MatMuls of one weight initializer are one crossbar: the same programmed
    conductances (PCM at t = 0: programming noise only, no read noise)."""
    w = np.random.default_rng(6).normal(0, 1, (5, 4)).astype(np.float32)
    g = Graph("rnn", [Tensor("x", (1, 5), "float32")], ["b", "c"],
              [Node("a", "MatMul", ["x", "w"], ["a"], {}),
               Node("b", "MatMul", ["x", "w"], ["b"], {}),
               Node("c", "MatMul", ["x", "v"], ["c"], {})])
    g.initializers["w"] = Tensor("w", (5, 4), "float32", w)
    g.initializers["v"] = Tensor("v", (5, 4), "float32", w.copy())
    pcm = Pcm(load_arch(ARCH / "pcm.yaml").crossbar.device)
    env = run_graph(g, {"x": np.ones((3, 5))}, CrossbarHook(pcm, np.random.default_rng(7)))
    assert np.array_equal(env["a"], env["b"])
    assert not np.allclose(env["a"], env["c"])  # another tensor, other devices


def test_majority_vote_and_its_ties():
    votes = np.array([[1, 2, 3, 0], [1, 2, 4, 5], [2, 0, 4, 5]])
    assert np.array_equal(majority(votes), [1, 2, 4, 5])
    tied = np.array([[1, 2, 3, 0], [1, 0, 4, 5], [2, 0, 4, 5], [2, 2, 3, 5]])
    assert np.array_equal(majority(tied), [1, 0, 3, 5])  # a tie: the smallest class


@pytest.mark.parametrize("args, message", [
    (["--arch", "pcm", "--accuracy", "--snr-db", "inf"], "--snr-db: must be a number"),
    (["--arch", "pcm", "--accuracy", "--snr-db", "loud"], "--snr-db: expected a number"),
    (["--arch", "fat", "--accuracy", "--snr-db", "0"], "needs an analog design"),
    (["--arch", "pcm", "--accuracy", "--votes", "0"], "--votes: must be an integer"),
    (["--arch", "pcm", "--accuracy", "--votes", "3.5"], "--votes: expected an integer"),
    (["--arch", "pcm", "--votes", "3"], "--votes: needs --accuracy"),
    (["--arch", "pcm", "--snr-db", "3"], "--snr-db: needs --accuracy"),
])
def test_bad_noise_options_are_one_line_usage_errors(args, message, capsys):
    assert main(["run", "--net", NET, "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.count("\n") == 0


def test_an_override_reaches_into_a_referenced_circuit_file():
    arch = load_arch(ARCH / "pcm.yaml", {"crossbar.adc.bits": 4})
    assert arch.crossbar.adc.bits == 4 and arch.crossbar.adc.kind == "sar"
    assert load_arch(ARCH / "pcm.yaml").crossbar.adc.bits == 8  # the file is untouched
    with pytest.raises(ConfigError, match="crossbar.adc.bitz: unknown key"):
        load_arch(ARCH / "pcm.yaml", {"crossbar.adc.bitz": 4})
    with pytest.raises(ConfigError, match="no such section"):
        load_arch(ARCH / "pcm.yaml", {"crossbar.tiles.x": 4})
