"""Sweeps: spec expansion and validation, resumable journal, backends agree, progress."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import imcsim.sweep.evaluate as sweep_evaluate
from imcsim.errors import ConfigError, ImcsimError
from imcsim.report.progress import progress
from imcsim.sweep import load_spec, run_sweep
from imcsim.sweep.journal import Journal
from imcsim.sweep.spec import digest
from tests.conftest import ARCH, ROOT

SPARSITIES = [0.3, 0.6, 0.9]


def write_spec(path: Path, **changes) -> Path:
    """A small FAT-vs-ParaPIM sweep on resnet20 (6 points); `changes` replace keys."""
    spec = {"designs": [{"name": "FAT", "arch": str(ARCH / "fat.yaml")},
                        {"name": "ParaPIM", "arch": str(ARCH / "parapim.yaml")}],
            "baseline": "ParaPIM", "networks": ["resnet20"],
            "grid": {"sparsity": SPARSITIES}}
    for k, v in changes.items():
        if v is None:
            spec.pop(k, None)
        else:
            spec[k] = v
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, bytes]:
    """The spec and the CSV of one uninterrupted inline run."""
    d = tmp_path_factory.mktemp("ref")
    spec = write_spec(d / "spec.yaml")
    csv = run_sweep(spec, d / "out", workers=1, progress=False)
    return spec, csv.read_bytes()


class CountingEvaluate:
    """Wraps `evaluate` (inline runs call it in this process) to count the points run."""

    def __init__(self, monkeypatch):
        self.calls: list[str] = []
        real = sweep_evaluate.evaluate

        def counted(point):
            self.calls.append(point.id)
            return real(point)
        monkeypatch.setattr(sweep_evaluate, "evaluate", counted)


def journal_ids(out: Path) -> list[str]:
    return [json.loads(line)["id"] for line in (out / "sweep.jsonl").read_text().splitlines()]


# ---------------------------------------------------------------- expansion


def test_expansion_order_and_stable_ids(tmp_path):
    spec_path = write_spec(tmp_path / "a.yaml",
                           grid={"sparsity": [0.5, 0.8], "chip.banks": [2, 4]})
    spec = load_spec(spec_path)
    got = [(p.design, p.net, p.sparsity, dict(p.overrides)["chip.banks"]) for p in spec.points]
    assert got == [(d, "resnet20", s, b) for d in ("FAT", "ParaPIM") for s in (0.5, 0.8)
                   for b in (2, 4)]
    assert spec.override_keys == ("chip.banks",)
    for p in spec.points:  # the id is the hash of the point's canonical JSON
        assert p.id == digest({"design": p.design, "net": p.net, "sparsity": p.sparsity,
                               "seed": 0, "overrides": {"chip.banks": p.arch.chip.banks}})
        assert p.arch.chip.banks == p.baseline.chip.banks  # baseline on the same chip
    assert len({p.id for p in spec.points}) == len(spec.points)
    # stable: same ids from a copy elsewhere; an int written as a float is the same point
    other = tmp_path / "elsewhere"
    other.mkdir()
    again = load_spec(write_spec(other / "b.yaml",
                                 grid={"sparsity": [0.5, 0.8], "chip.banks": [2, 4]}))
    assert [p.id for p in again.points] == [p.id for p in spec.points]


def test_points_list_and_fixed_baseline(tmp_path):
    spec = load_spec(write_spec(
        tmp_path / "s.yaml", grid=None,
        baseline={"design": "ParaPIM", "apply_sweep_overrides": False},
        points=[{"sparsity": 0.8, "chip.banks": 2}, {"design": "FAT", "seed": 3}]))
    got = [(p.design, p.sparsity, p.seed, p.overrides) for p in spec.points]
    assert got == [("FAT", 0.8, 0, (("chip.banks", 2),)),
                   ("ParaPIM", 0.8, 0, (("chip.banks", 2),)),
                   ("FAT", None, 3, ())]
    assert all(p.baseline.chip.banks == 4 for p in spec.points)  # kept as declared
    assert spec.points[2].columns == (("chip.banks", 4),)  # the effective value


def test_design_and_net_axes(tmp_path):
    spec = load_spec(write_spec(tmp_path / "s.yaml", networks=None,
                                grid={"seed": [0, 1], "design": ["FAT"], "net": ["resnet20"]}))
    assert [(p.design, p.net, p.seed, p.sparsity) for p in spec.points] == [
        ("FAT", "resnet20", 0, None), ("FAT", "resnet20", 1, None)]


def test_batch_axis_and_default(tmp_path):
    """`batch` is an axis; points that do not sweep it take the run's default, and a
    batch of 1 keeps the ids it had before batches existed."""
    spec = load_spec(write_spec(tmp_path / "b.yaml", grid={"batch": [1, 4]}))
    assert [p.batch for p in spec.points] == [1, 4, 1, 4]
    plain = load_spec(write_spec(tmp_path / "p.yaml"))
    eight = load_spec(write_spec(tmp_path / "p.yaml"), batch=8)
    assert {p.batch for p in eight.points} == {8}
    assert not {p.id for p in plain.points} & {p.id for p in eight.points}
    first = plain.points[0]  # batch 1: the id is the digest of what it was before batches
    assert first.id == digest({"design": first.design, "net": first.net,
                               "sparsity": first.sparsity, "seed": first.seed,
                               "overrides": {}})


def test_relative_arch_path_from_spec_dir(tmp_path):
    shipped = ROOT / "workloads" / "sweeps" / "fat_sparsity.yaml"
    spec = load_spec(shipped)
    assert [p.sparsity for p in spec.points[:11]] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6,
                                                      0.7, 0.8, 0.9, 0.95]
    assert [p.design for p in spec.points] == ["FAT"] * 11 + ["ParaPIM"] * 11
    assert spec.baseline == "ParaPIM" and spec.networks == ("resnet18",)


def test_shipped_assumption_sweep_changes_one_parameter_per_point():
    spec = load_spec(ROOT / "workloads" / "sweeps" / "fat_assumptions.yaml")
    fat = [p for p in spec.points if p.design == "FAT"]
    assert all(p.sparsity == 0.8 for p in fat) and len(fat) == len(spec.points) // 2
    assert fat[0].overrides == () and fat[0].arch == spec.designs[0].arch  # shipped
    assert all(len(p.overrides) == 1 for p in fat[1:])  # one assumption each
    assert all(p.baseline.chip == p.arch.chip for p in fat)  # the baseline follows


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(("changes", "key", "words"), [
    ({"grid": {"chip.rowz": [1]}}, "grid.chip.rowz", "unknown key"),
    ({"grid": {"sparsty": [0.5]}}, "grid.sparsty", "sweep axes"),
    ({"grid": {"chip.rows": [512, -1]}}, "grid.chip.rows[1]", "must be > 0"),
    ({"grid": None, "points": [{"sparsity": 0.5}, {"chip.rowz": 3}]}, "points[1].chip.rowz",
     "unknown key"),
    ({"designs": [{"name": "FAT", "arch": str(ARCH / "fat.yaml"),
                   "overrides": {"chip.rowz": 3}},
                  {"name": "ParaPIM", "arch": str(ARCH / "parapim.yaml")}]},
     "designs[0].overrides.chip.rowz", "unknown key"),
    ({"grid": {}}, "grid", "empty grid"),
    ({"grid": {"sparsity": []}}, "grid.sparsity", "non-empty list"),
    ({"grid": {"sparsity": [0.5, 1.0]}}, "grid.sparsity[1]", "[0, 1)"),
    ({"grid": {"seed": [-1]}}, "grid.seed[0]", "non-negative"),
    ({"gird": {"sparsity": [0.5]}}, "gird", "unknown key"),
    ({"networks": ["resnet2O"]}, "networks[0]", "unknown net"),
    ({"baseline": "Parapim"}, "baseline", "unknown design"),
    ({"points": [{"sparsity": 0.5}]}, "points", "not both"),
    ({"designs": [{"name": "X", "arch": "nowhere.yaml"}]}, "designs[0].arch", "not found"),
    ({"grid": {"sparsity": [0.5, 0.5]}}, "grid", "duplicate point"),
    ({"grid": {"net": ["resnet20"]}}, "grid.net", "networks is given too"),
    ({"networks": None}, "networks", "missing"),
    ({"grid": {"design": ["FAT", "Fat"]}}, "grid.design[1]", "unknown design"),
    ({"grid": {"batch": [2, 0]}}, "grid.batch[1]", "batch must be an integer"),
])
def test_validation_names_file_and_key(tmp_path, changes, key, words):
    spec = write_spec(tmp_path / "bad.yaml", **changes)
    with pytest.raises(ConfigError) as info:
        load_spec(spec)
    exc = info.value
    assert (exc.source, exc.key) == (str(spec), key)
    assert words in str(exc) and str(spec) in str(exc) and key in str(exc)
    with pytest.raises(ConfigError):  # nothing is written for a bad spec
        run_sweep(spec, tmp_path / "out", workers=1, progress=False)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- resume


def test_interrupted_sweep_resumes_to_the_same_csv(tmp_path, reference, monkeypatch):
    spec, ref_csv = reference
    out = tmp_path / "out"
    counter = CountingEvaluate(monkeypatch)
    partial = run_sweep(spec, out, workers=1, progress=False, limit=2)
    assert len(partial.read_text().splitlines()) == 1 + 2  # the points done so far
    assert len(journal_ids(out)) == 2
    run_sweep(spec, out, workers=1, progress=False)
    assert len(counter.calls) == 6 and len(set(counter.calls)) == 6  # none twice
    assert sorted(journal_ids(out)) == sorted(counter.calls)
    assert (out / "sweep.csv").read_bytes() == ref_csv


@pytest.mark.parametrize("keep_newline_less_whole_line", [False, True])
def test_truncated_journal_resumes(tmp_path, reference, monkeypatch,
                                   keep_newline_less_whole_line):
    spec, ref_csv = reference
    full = tmp_path / "full"
    run_sweep(spec, full, workers=1, progress=False)
    lines = (full / "sweep.jsonl").read_bytes().splitlines(keepends=True)
    out = tmp_path / "out"
    out.mkdir()
    # killed while writing line 4: three whole lines and a torn fourth (or, the other
    # case, a fourth line complete but for its newline, which counts as done)
    tail = lines[3][:-1] if keep_newline_less_whole_line else lines[3][: len(lines[3]) // 2]
    (out / "sweep.jsonl").write_bytes(b"".join(lines[:3]) + tail)
    counter = CountingEvaluate(monkeypatch)
    run_sweep(spec, out, workers=1, progress=False)
    assert len(counter.calls) == (2 if keep_newline_less_whole_line else 3)
    ids = journal_ids(out)  # every line parses again
    assert len(ids) == 6 and len(set(ids)) == 6
    assert (out / "sweep.csv").read_bytes() == ref_csv


def test_killed_process_resumes(tmp_path, reference):
    spec, ref_csv = reference
    out = tmp_path / "out"
    code = ("import sys; from imcsim.sweep import run_sweep; "
            "run_sweep(sys.argv[1], sys.argv[2], workers=1, progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(spec), str(out)], cwd=ROOT)
    journal = out / "sweep.jsonl"
    deadline = time.monotonic() + 45
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if journal.exists() and journal.read_bytes().count(b"\n") >= 2:
                break
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the sweep finished before it was killed"
    assert 2 <= len(journal.read_bytes().splitlines()) < 6
    run_sweep(spec, out, workers=1, progress=False)
    ids = journal_ids(out)
    assert len(ids) == 6 and len(set(ids)) == 6
    assert (out / "sweep.csv").read_bytes() == ref_csv


def test_edited_design_makes_old_results_stale(tmp_path, reference, monkeypatch):
    spec, _ = reference
    out = tmp_path / "out"
    run_sweep(spec, out, workers=1, progress=False)
    raw = yaml.safe_load(spec.read_text())
    raw["designs"][0]["overrides"] = {"chip.banks": 2}
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(raw))
    before, after = load_spec(spec).points, load_spec(edited).points
    assert [p.id for p in before] == [p.id for p in after]  # same points ...
    counter = CountingEvaluate(monkeypatch)
    csv = run_sweep(edited, out, workers=1, progress=False)
    # ... but FAT's inputs changed: its points ran again, ParaPIM's (and its baseline) not
    assert sorted(counter.calls) == sorted(p.id for p in after if p.design == "FAT")
    rows = csv.read_text().splitlines()
    assert len(rows) == 1 + 6 and len(journal_ids(out)) == 6 + 3


def test_untrusted_journal_lines_are_reported_and_their_points_run_again(
        tmp_path, reference, capsys):
    """Garbage, deep nesting and a tampered row are skipped (and said); the CSV equals
    an uninterrupted sweep's."""
    spec, _ = reference
    clean = tmp_path / "clean"
    run_sweep(spec, clean, workers=1, progress=False)
    out = tmp_path / "out"
    run_sweep(spec, out, workers=1, progress=False, limit=3)
    lines = (out / "sweep.jsonl").read_text().splitlines()
    tampered = json.loads(lines[2])
    tampered["row"]["cycles"] = {"nested": [1]}
    (out / "sweep.jsonl").write_text("garbage\n" + "[" * 5000 + "]" * 5000 + "\n"
                                     + lines[1] + "\n" + json.dumps(tampered) + "\n")
    run_sweep(spec, out, workers=1, progress=False)
    err = capsys.readouterr().err
    assert "line(s) 1, 2, 4 are not sweep records" in err
    assert (out / "sweep.csv").read_text() == (clean / "sweep.csv").read_text()


def test_one_writer_per_journal(tmp_path, reference):
    spec, _ = reference
    out = tmp_path / "out"
    with Journal(out / "sweep.jsonl").writer(), \
            pytest.raises(ImcsimError, match="another sweep"):
        run_sweep(spec, out, workers=1, progress=False)


# ---------------------------------------------------------------- backends


def test_process_pool_matches_inline(tmp_path, reference):
    spec, ref_csv = reference
    assert run_sweep(spec, tmp_path / "pool", workers=2, progress=False).read_bytes() \
        == ref_csv


@pytest.mark.slow  # starts a Dask cluster (CI runs it)
def test_dask_local_cluster_matches_process_pool(tmp_path, reference):
    pytest.importorskip("dask.distributed")
    spec, ref_csv = reference
    pool = run_sweep(spec, tmp_path / "pool", workers=2, progress=False).read_bytes()
    dask = run_sweep(spec, tmp_path / "dask", workers=2, dask="local",
                     progress=False).read_bytes()
    assert dask == pool == ref_csv


def test_unreachable_scheduler_fails_fast_and_keeps_the_journal(tmp_path, reference):
    pytest.importorskip("dask.distributed")
    spec, _ = reference
    out = tmp_path / "out"
    run_sweep(spec, out, workers=1, progress=False, limit=2)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    start = time.monotonic()
    with pytest.raises(ImcsimError, match="cannot reach the Dask scheduler") as info:
        run_sweep(spec, out, dask="tcp://127.0.0.1:1", connect_timeout=1.0, progress=False)
    assert time.monotonic() - start < 15
    assert info.value.key == "dask"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize(("kwargs", "key"), [({"workers": 0}, "workers"),
                                             ({"dask": "127.0.0.1:8786"}, "dask")])
def test_bad_arguments(tmp_path, reference, kwargs, key):
    spec, _ = reference
    with pytest.raises(ImcsimError) as info:
        run_sweep(spec, tmp_path / "out", progress=False, **kwargs)
    assert info.value.key == key and not (tmp_path / "out").exists()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_point_names_itself_and_keeps_the_rest(tmp_path, workers):
    # 8 rows cannot hold an accumulator: valid config, but simulate refuses the point
    spec = write_spec(tmp_path / "s.yaml", grid={"sparsity": [0.5], "chip.rows": [512, 8]})
    out = tmp_path / "out"
    with pytest.raises(ImcsimError, match=r"point \w+ \(\w+, resnet20, sparsity=0.5, "
                                          r"seed=0, chip.rows=8\): .*chip.rows"):
        run_sweep(spec, out, workers=workers, progress=False)
    good = {p.id for p in load_spec(spec).points if dict(p.overrides)["chip.rows"] == 512}
    assert set(journal_ids(out)) <= good
    if workers == 1:  # inline runs the 512-row configuration first (sorted per network)
        assert set(journal_ids(out)) == good


# ---------------------------------------------------------------- plots


def test_plot_gets_published_point_from_reference_data(tmp_path, monkeypatch):
    from imcsim.report import plots
    from imcsim.sweep import table
    from imcsim.validate import reference_designs

    spec = load_spec(write_spec(tmp_path / "s.yaml", networks=["resnet18"],
                                grid={"sparsity": [0.5, 0.8]}))
    rows = {p.id: {"speedup": 2.0 + i, "energy_efficiency": 3.0 + i}
            for i, p in enumerate(spec.points)}
    calls = []
    monkeypatch.setattr(plots, "plot_sparsity_sweep",
                        lambda data, out_dir, published_point=None, **kw:
                        calls.append((data, out_dir, published_point)) or [],
                        raising=False)
    table.plot_sparsity(spec, rows, tmp_path)
    ref = next(c for c in reference_designs()["fat"]["checks"]
               if c["key"] == "speedup" and "published" in c)
    assert len(calls) == 1  # FAT vs ParaPIM only; the baseline's own rows are not plotted
    data, out_dir, point = calls[0]
    assert point == (ref["probe"]["compare"]["sparsity"], ref["published"])
    assert [r["sparsity"] for r in data] == [0.5, 0.8]
    assert [r["speedup"] for r in data] == [2.0, 3.0]  # the FAT rows, in point order
    monkeypatch.delattr(plots, "plot_sparsity_sweep")
    assert table.plot_sparsity(spec, rows, tmp_path) == []  # absent: skipped


# ---------------------------------------------------------------- progress


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert list(progress(range(3), total=3, desc="x")) == [0, 1, 2]
    assert sys.stderr.getvalue() == ""
    tty = FakeTTY()
    monkeypatch.setattr(sys, "stderr", tty)
    assert list(progress(range(3), total=3, desc="x", enabled=False)) == [0, 1, 2]
    assert tty.getvalue() == ""
    assert list(progress(range(3), total=3, desc="sweeping")) == [0, 1, 2]
    assert "sweeping" in tty.getvalue()


def _children(pid: int) -> set[int]:
    """Every descendant of `pid` (Linux /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_die_with_a_killed_sweep(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    spec = tmp_path / "big.yaml"
    spec.write_text("designs:\n  - {name: F, arch: fat}\nnetworks: [resnet18]\n"
                    "grid:\n  seed: [" + ", ".join(map(str, range(40))) + "]\n")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-m", "imcsim.cli", "sweep", str(spec), "--out",
                             str(tmp_path / "o"), "--workers", "2", "--quiet"],
                            env={**os.environ, "PYTHONPATH": str(root)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    workers: set[int] = set()
    while time.time() < deadline and len(workers) < 3:
        time.sleep(0.5)
        workers = _children(proc.pid)
    assert workers, "the sweep started no worker"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(3)
    alive = {p for p in workers if Path(f"/proc/{p}").exists()}
    assert not alive


@pytest.mark.slow
def test_ctrl_c_stops_a_dask_sweep_quietly(tmp_path):
    """A terminal's Ctrl-C reaches the whole process group: the sweep says what it saved
    and exits 130; the Dask workers print no traceback."""
    pytest.importorskip("dask.distributed")
    import os
    import signal
    import subprocess
    import sys
    import time

    spec = tmp_path / "s.yaml"
    spec.write_text("designs:\n  - {name: F, arch: fat}\nnetworks: [resnet18]\n"
                    "grid:\n  seed: [" + ", ".join(map(str, range(60))) + "]\n")
    root = Path(__file__).resolve().parents[1]
    journal = tmp_path / "o" / "sweep.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "imcsim.cli", "sweep", str(spec), "--out",
                             str(tmp_path / "o"), "--dask", "local", "--workers", "2",
                             "--quiet"], env={**os.environ, "PYTHONPATH": str(root)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (journal.exists() and journal.stat().st_size):
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "sweep points saved" in err
    assert "Traceback" not in err
