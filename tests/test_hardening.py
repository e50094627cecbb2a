"""Bad input, one class at a time: exit code 2, one line naming the file and the key, no
traceback, nothing written; outputs never replace what is not theirs, and an
interrupted run leaves no partial output set."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from imcsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
FAT = ROOT / "arch_configs" / "fat.yaml"


def one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("imcsim: error: ") and "\n" not in err and "Traceback" not in err
    return err


def run_arch(capsys, path: Path, *extra: str) -> str:
    return one_line_error(capsys, ["run", "--arch", str(path), "--net", "resnet20",
                                   "--quiet", *extra])


def fat_with(tmp_path: Path, text_edit=None, raw_edit=None, name: str = "a.yaml") -> Path:
    text = FAT.read_text()
    if raw_edit is not None:
        raw = yaml.safe_load(text)
        raw_edit(raw)
        text = yaml.safe_dump(raw, sort_keys=False)
    if text_edit is not None:
        text = text_edit(text)
    path = tmp_path / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------- file level


@pytest.mark.parametrize(("data", "expect"), [
    ("name: Caf\xe9\n".encode("latin-1"), "not UTF-8"),
    ("kind: bitserial\n".encode("utf-16"), "UTF-16"),
    (b"kind: bitserial\nname: \x1b[31mred\n", "control character"),
])
def test_encodings_and_control_characters(tmp_path, capsys, data, expect):
    path = tmp_path / "a.yaml"
    path.write_bytes(data)
    err = run_arch(capsys, path)
    assert "a.yaml" in err and expect in err and "\x1b" not in err


def test_deep_nesting_and_alias_bombs_are_refused_quickly(tmp_path, capsys):
    deep = tmp_path / "deep.yaml"
    deep.write_text("kind: bitserial\nx: " + "[" * 1000 + "]" * 1000 + "\n")
    assert "nested deeper" in run_arch(capsys, deep)
    bomb = tmp_path / "bomb.yaml"
    lines = ["kind: bitserial", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 12)]
    bomb.write_text("\n".join(lines) + "\n")
    start = time.perf_counter()
    assert "aliases" in run_arch(capsys, bomb)
    assert time.perf_counter() - start < 5


def test_huge_files_and_non_regular_inputs(tmp_path, capsys):
    big = tmp_path / "big.yaml"
    big.write_text("# padding\n" * 600_000)  # 6 MB of comment
    assert "too large" in run_arch(capsys, big)
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    assert "not a regular file" in run_arch(capsys, fifo)  # and does not block
    assert "not a regular file" in run_arch(capsys, tmp_path)


def test_duplicate_keys_name_the_key_and_both_lines(tmp_path, capsys):
    path = fat_with(tmp_path, text_edit=lambda t: t + "\nchip: {banks: 1}\n")
    err = run_arch(capsys, path)
    assert "duplicate key 'chip'" in err and "lines" in err


# ---------------------------------------------------------------- values


@pytest.mark.parametrize(("key", "value", "expect"), [
    ("chip.banks", 2 ** 70, "must be <="),
    ("chip.banks", 1_000_000, "must be <="),
    ("technology.write_ns", 1e30, "must be <="),
    ("clock.frequency_hz", 1e-300, "must be >="),
    ("buffer.size_kib", 2.5, "expected an integer"),
    ("controller.weights_per_cycle", 2.5, "expected an integer"),
    ("name", "two\nlines\x1b[0m", "control character"),
])
def test_values_are_typed_and_bounded(tmp_path, capsys, key, value, expect):
    section, _, field = key.rpartition(".")

    def edit(raw):
        (raw[section] if section else raw)[field] = value

    err = run_arch(capsys, fat_with(tmp_path, raw_edit=edit))
    assert key in err and expect in err


def test_control_characters_in_keys_are_escaped(tmp_path, capsys):
    path = fat_with(tmp_path, raw_edit=lambda raw: raw["chip"].update({"ba\nnks\x1b": 1}))
    err = run_arch(capsys, path)
    assert "unknown key" in err and "\\n" in err and "\\x1b" in err


@pytest.mark.parametrize("argv", [
    ["--functional", "--functional-layers", "-3"],
    ["--trace-max-events", "0", "--trace", "t.json"],
    ["--plot-format", "exe", "--plot", "p"],
])
def test_bad_options_fail_before_any_work(tmp_path, capsys, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    one_line_error(capsys, ["run", "--arch", str(FAT), "--net", "resnet20", "--quiet", *argv])
    assert list(tmp_path.iterdir()) == []


def test_accuracy_options_are_bounded(capsys):
    net = str(ROOT / "workloads" / "digits" / "digits_cnn_twn.yaml")
    for argv in (["--drift-time", "1e400"], ["--samples", "0"], ["--samples", "-1"]):
        err = one_line_error(capsys, ["run", "--arch", str(FAT), "--net", net, "--quiet",
                                      "--accuracy", *argv])
        assert argv[0] in err


# ---------------------------------------------------------------- outputs


def test_outputs_never_replace_what_is_not_theirs(tmp_path, capsys):
    target = tmp_path / "real.json"
    target.write_text("keep")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    a_file = tmp_path / "file"
    a_file.write_text("keep")
    for argv in (["--trace", str(link)], ["--trace", str(fifo)], ["--trace", str(tmp_path)],
                 ["--out", str(a_file)], ["--plot", str(a_file)],
                 ["--out", str(tmp_path / "o"), "--trace", str(a_file / "t.json")]):
        one_line_error(capsys, ["run", "--arch", str(FAT), "--net", "resnet20", "--quiet",
                                *argv])
    assert target.read_text() == "keep" and link.is_symlink() and a_file.read_text() == "keep"
    assert not (tmp_path / "o").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "file", "link.json",
                                                          "real.json"]


@pytest.mark.slow
def test_a_terminated_run_leaves_no_output(tmp_path):
    """SIGTERM while the run works: exit 143, and neither the report folder, the plots
    nor the trace (nor a temporary file) exists."""
    out, plots, trace = tmp_path / "out", tmp_path / "plots", tmp_path / "t.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "imcsim.cli", "run", "--arch", str(FAT), "--net", "vgg16",
         "--quiet", "--out", str(out), "--plot", str(plots), "--trace", str(trace)],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "interrupted" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ---------------------------------------------------------------- networks


@pytest.mark.parametrize(("array", "where"), [("data/conv1.bias", "initializer conv1.bias"),
                                              ("scale/fc.weight", "initializer fc.weight")])
def test_non_finite_weights_biases_and_scales_are_named(tmp_path, capsys, array, where):
    src = ROOT / "workloads" / "digits"
    (tmp_path / "n.yaml").write_text((src / "digits_cnn_twn.yaml").read_text().replace(
        "digits_cnn_twn.npz", "n.npz"))
    import numpy as np

    with np.load(src / "digits_cnn_twn.npz") as data:
        arrays = dict(data)
    bad = arrays[array].copy()
    bad.reshape(-1)[0] = np.nan
    arrays[array] = bad
    np.savez(tmp_path / "n.npz", **arrays)
    err = one_line_error(capsys, ["run", "--arch", str(FAT), "--net", str(tmp_path / "n.yaml"),
                                  "--quiet"])
    assert "n.yaml" in err and where in err and "NaN" in err


def test_huge_declared_shapes_are_refused_before_allocating(tmp_path, capsys):
    src = ROOT / "workloads" / "digits" / "digits_cnn_twn.yaml"
    text = src.read_text().replace("shape: [1, 1, 8, 8]", f"shape: [1, 1, {2 ** 40}, 8]")
    (tmp_path / "h.yaml").write_text(text.replace("digits_cnn_twn.npz", str(
        ROOT / "workloads" / "digits" / "digits_cnn_twn.npz")))
    err = one_line_error(capsys, ["workload", "info", str(tmp_path / "h.yaml")])
    assert "h.yaml" in err and "elements" in err


def test_an_npz_member_larger_than_its_tensor_is_not_inflated(tmp_path, capsys):
    import numpy as np

    src = ROOT / "workloads" / "digits"
    (tmp_path / "z.yaml").write_text((src / "digits_cnn_twn.yaml").read_text().replace(
        "digits_cnn_twn.npz", "z.npz"))
    with np.load(src / "digits_cnn_twn.npz") as data:
        arrays = dict(data)
    arrays["data/conv1.bias"] = np.zeros(64 * 1024 * 1024, np.float32)  # 256 MiB of zeros
    np.savez_compressed(tmp_path / "z.npz", **arrays)
    assert (tmp_path / "z.npz").stat().st_size < 2 * 1024 * 1024
    err = one_line_error(capsys, ["workload", "info", str(tmp_path / "z.yaml")])
    assert "z.npz" in err and "initializer conv1.bias" in err and "declares" in err


def test_an_error_inside_a_referenced_file_names_the_chain(tmp_path, capsys):
    arch = tmp_path / "r.yaml"
    text = (ROOT / "arch_configs" / "reram_ramp.yaml").read_text()
    text = text.replace("nl_adc: circuits/nl_adc.yaml", "nl_adc: bad.yaml")
    arch.write_text(text.replace(" circuits/", f" {ROOT / 'arch_configs' / 'circuits'}/"))
    (tmp_path / "bad.yaml").write_text("bits: [\n")
    err = run_arch(capsys, arch)
    assert "bad.yaml: malformed YAML" in err and "referenced from" in err
    assert "r.yaml at crossbar.nl_adc" in err
