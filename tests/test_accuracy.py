"""Accuracy as the hardware computes it, on the shipped trained digits networks."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import yaml

from imcsim.accuracy import evaluate, load_dataset, parse_duration
from imcsim.arch import load_arch
from imcsim.cli import main
from imcsim.functional.accuracy import predict
from imcsim.functional.noisy import CrossbarHook
from imcsim.workload.native import read_native
from tests.conftest import ARCH, ROOT

DIGITS = ROOT / "workloads" / "digits"
NET = str(DIGITS / "digits_cnn_sparse.yaml")


def mean_accuracy(arch, seeds=range(3), **kw) -> float:
    return float(np.mean([evaluate(arch, NET, seed=s, **kw)["simulated"] for s in seeds]))


@pytest.fixture(scope="module")
def manifest():
    return yaml.safe_load((DIGITS / "manifest.yaml").read_text())


def test_digital_reference_is_the_recorded_accuracy(fat, manifest):
    res = evaluate(fat, NET)
    recorded = manifest["networks"]["digits_cnn_sparse"]["accuracy"]["imcsim_exact"]
    assert res["reference"] == pytest.approx(recorded, abs=1e-6)
    assert res["simulated"] == res["reference"]


def test_bit_flips_cost_accuracy(fat):
    clean = evaluate(fat, NET)["reference"]
    assert evaluate(fat, NET, bit_flip_rate=0.0)["simulated"] == clean
    assert mean_accuracy(fat, bit_flip_rate=0.1) < clean - 0.05


def test_pcm_accuracy_degrades_with_drift_time():
    pcm = load_arch(ARCH / "pcm.yaml")
    times = [0.0, 3600.0, 86400.0, 3.15e7]
    accs = [mean_accuracy(pcm, drift_time_s=t) for t in times]
    assert all(a >= b for a, b in zip(accs, accs[1:], strict=False)), accs
    assert accs[0] > accs[-1] + 0.1


def test_pcm_with_noise_off_equals_the_digital_result():
    pcm = load_arch(ARCH / "pcm.yaml")
    p = pcm.crossbar.device
    quiet = dataclasses.replace(
        p,
        programming=dataclasses.replace(p.programming, c0=0.0, c1=0.0, c2=0.0),
        drift=dataclasses.replace(p.drift, mu=dataclasses.replace(p.drift.mu, min=0.0, max=0.0,
                                                                   slope=0.0, intercept=0.0),
                                  sigma=dataclasses.replace(p.drift.sigma, min=0.0, max=0.0,
                                                            slope=0.0, intercept=0.0)),
        read_noise=dataclasses.replace(p.read_noise, q_coeff=0.0, q_max=0.0))
    from imcsim.tech.pcm import Pcm

    graph = read_native(NET)
    images, _ = load_dataset(DIGITS / "test_split.npz")
    hook = CrossbarHook(Pcm(quiet), np.random.default_rng(0), t_s=86400.0)
    assert np.array_equal(predict(graph, images, hook), predict(graph, images))


@pytest.mark.slow  # ~3 s: several noisy accuracy runs; CI runs the slow tests too
def test_photonic_accuracy_rises_with_repeats_and_reaches_digital(fat):
    # a fixed laser (the sensitivity rule): K repeats average the noise of the same light
    # (noise sizing would resize the light per K; and at sigma_w 0.3 no light gives 8 bits)
    ph = load_arch(ARCH / "photonic.yaml", {"photonic.laser.sizing": "sensitivity"})
    noisy = dataclasses.replace(ph.photonic, noise=dataclasses.replace(
        ph.photonic.noise, weight_noise_std=0.3))

    def with_k(k):
        params = dataclasses.replace(noisy, precision=dataclasses.replace(
            noisy.precision, default_repeats=k))
        return dataclasses.replace(ph, photonic=params)

    accs = [mean_accuracy(with_k(k)) for k in (1, 4, 16, 64)]
    assert all(a <= b + 0.005 for a, b in zip(accs, accs[1:], strict=False)), accs
    digital = evaluate(fat, NET)["reference"]
    assert accs[0] < digital - 0.2
    assert accs[-1] >= digital - 0.02


def test_parse_duration():
    assert parse_duration("1d") == 86400 and parse_duration("90") == 90
    assert parse_duration("2.5h") == 9000 and parse_duration("1y") == 31557600


def test_cli_accuracy_json_and_bad_drift_time(capsys):
    assert main(["run", "--arch", str(ARCH / "pcm.yaml"), "--net", NET, "--accuracy",
                 "--drift-time", "1d", "--format", "json", "--quiet"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["accuracy"]) >= {"reference", "simulated", "samples"}
    assert doc["accuracy"]["samples"] == 360
    assert main(["run", "--arch", str(ARCH / "pcm.yaml"), "--net", NET, "--accuracy",
                 "--drift-time", "soon"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--drift-time" in err and err.count("\n") == 0


def test_pcm_accuracy_degrades_with_programming_noise():
    from imcsim.tech.pcm import Pcm

    pcm = load_arch(ARCH / "pcm.yaml")
    p = pcm.crossbar.device
    graph = read_native(NET)
    images, labels = load_dataset(DIGITS / "test_split.npz")

    def acc(scale: float) -> float:
        prog = dataclasses.replace(p.programming, c0=p.programming.c0 * scale,
                                   c1=p.programming.c1 * scale, c2=p.programming.c2 * scale)
        dev = Pcm(dataclasses.replace(p, programming=prog))
        runs = [np.mean(predict(graph, images, CrossbarHook(dev, np.random.default_rng(s)))
                        == labels) for s in range(3)]
        return float(np.mean(runs))

    accs = [acc(s) for s in (0.0, 4.0, 12.0)]
    assert accs[0] >= accs[1] >= accs[2] and accs[0] > accs[2] + 0.05, accs
