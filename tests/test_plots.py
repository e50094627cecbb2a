"""Plots: every kind drawn from a real run, valid files, plotted numbers equal the documents."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from imcsim.errors import UsageError

pytest.importorskip("matplotlib")

from imcsim.report import plots  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_fat(fat, resnet20):
    from imcsim.simulate import simulate

    return simulate(fat, resnet20)


@pytest.fixture(scope="module")
def run_doc(run_fat):
    return run_fat.to_dict()


@pytest.fixture(scope="module")
def compare_doc(run_fat, parapim, resnet20):
    from imcsim.comparison import compare
    from imcsim.simulate import simulate

    return compare(run_fat, simulate(parapim, resnet20))


@pytest.fixture(scope="module")
def sweep_rows(fat, parapim):
    from imcsim.comparison import compare
    from imcsim.simulate import simulate
    from imcsim.workload.loader import load_network

    rows = []
    for s in (0.8, 0.5):  # unsorted on purpose: the plot sorts by sparsity
        net = load_network("resnet20", sparsity=s, seed=0)
        c = compare(simulate(fat, net), simulate(parapim, net))
        rows.append({"sparsity": s, "speedup": c["speedup"],
                     "energy_efficiency": c["energy_efficiency"]})
    return rows


def check_files(paths, stems):
    from matplotlib.image import imread

    assert sorted(p.name for p in paths) == sorted(f"{s}.{f}" for s in stems
                                                   for f in ("png", "svg"))
    for p in paths:
        assert p.is_file() and p.stat().st_size > 0
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == PNG_SIGNATURE
            img = imread(p)
            assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
        else:
            root = ET.parse(p).getroot()
            assert root.tag.endswith("svg")
    assert not [q for q in paths[0].parent.iterdir() if q.name.endswith(".tmp")]


def heights(container) -> list[float]:
    return [patch.get_height() for patch in container]


def labelled_line(ax, prefix: str):
    lines = [ln for ln in ax.get_lines() if ln.get_label().startswith(prefix)]
    assert len(lines) == 1, [ln.get_label() for ln in ax.get_lines()]
    return lines[0]


# ---------------------------------------------------------------- run


def test_plot_run_writes_valid_images(run_doc, tmp_path):
    paths = plots.plot_run(run_doc, tmp_path / "plots")
    check_files(paths, ["run_cycles", "run_energy", "run_utilisation"])


def test_run_cycles_bars_equal_document(run_doc):
    ax = plots._figure_run_cycles(run_doc).axes[0]
    assert heights(ax.patches) == [la["cycles"] for la in run_doc["layers"]]
    assert [t.get_text() for t in ax.get_xticklabels()] == [la["name"] for la in run_doc["layers"]]
    assert "cycles" in ax.get_ylabel()


def test_run_energy_stack_equals_breakdown_in_uj(run_doc):
    ax = plots._figure_run_energy(run_doc).axes[0]
    layers = run_doc["layers"]
    shown = {c.get_label(): c for c in ax.containers}
    comps = [k for k in run_doc["total"]["energy_breakdown_j"]
             if any(la["energy_breakdown_j"][k] for la in layers)]
    assert list(shown) == [k.replace("_", " ") for k in comps]
    for comp in comps:
        expected = [la["energy_breakdown_j"][comp] * 1e6 for la in layers]
        assert heights(shown[comp.replace("_", " ")]) == pytest.approx(expected, rel=1e-12)
    tops = [max(p.get_y() + p.get_height() for p in ax.patches if p.get_x() < i < p.get_x()
                + p.get_width()) for i in range(len(layers))]
    assert tops == pytest.approx([la["energy_j"] * 1e6 for la in layers], rel=1e-9)
    assert "µJ" in ax.get_ylabel()


def test_run_utilisation_bars_and_network_line(run_doc):
    ax = plots._figure_run_utilisation(run_doc).axes[0]
    assert heights(ax.patches) == [la["utilisation"] for la in run_doc["layers"]]
    line = labelled_line(ax, "network")
    assert list(line.get_ydata()) == [run_doc["total"]["utilisation"]] * 2


# ---------------------------------------------------------------- compare


def test_plot_compare_writes_valid_images(compare_doc, tmp_path):
    check_files(plots.plot_compare(compare_doc, tmp_path), ["compare", "compare_latency_throughput"])


def test_compare_bars_and_network_lines_equal_document(compare_doc):
    fig = plots._figure_compare(compare_doc)
    speed_ax, energy_ax = fig.axes[:2]
    for ax, key in ((speed_ax, "speedup"), (energy_ax, "energy_efficiency")):
        assert heights(ax.patches) == [la[key] for la in compare_doc["layers"]]
        assert list(labelled_line(ax, "network").get_ydata()) == [compare_doc[key]] * 2
        assert list(labelled_line(ax, compare_doc["baseline"]).get_ydata()) == [1.0, 1.0]


# ---------------------------------------------------------------- timeline


def test_plot_utilisation_timeline_writes_valid_images(run_fat, fat, tmp_path):
    paths = plots.plot_utilisation_timeline(run_fat.record, run_fat.frequency_hz, tmp_path)
    check_files(paths, ["utilisation_timeline"])


def test_timeline_area_equals_busy_lane_cycles(run_fat, fat):
    """The utilisation series integrates to the busy lane-cycles of the per-layer table;
    the second series to the subarrays' busy cycles."""
    fig = plots._figure_utilisation_timeline(run_fat.record, run_fat.frequency_hz, bins=50)
    from matplotlib.patches import StepPatch

    stairs, units = [a for a in fig.axes[0].patches if isinstance(a, StepPatch)]
    data = stairs.get_data()
    fraction, edges_time = data.values, data.edges
    assert len(fraction) == 50
    assert np.all(fraction >= 0) and np.all(fraction <= 1 + 1e-12)
    # back to cycles: the area under the curve is every subarray's compute time
    record = run_fat.record
    end = max(record.end)
    assert edges_time[-1] == pytest.approx(end / run_fat.frequency_hz * 1e6)  # in us
    width = end / 50
    lanes = fat.subarrays * fat.chip.columns
    lane_cycles = sum(la.utilisation * la.cycles for la in run_fat.layers) * lanes
    assert float((fraction * width * lanes).sum()) == pytest.approx(lane_cycles, rel=1e-9)
    busy = sum(c for r, c in record.busy_cycles().items() if ".sub" in r)
    unit_fraction = units.get_data().values
    assert float((unit_fraction * width * fat.subarrays).sum()) == pytest.approx(busy,
                                                                                rel=1e-9)
    assert np.all(fraction <= unit_fraction + 1e-12)  # a busy subarray may idle columns


# ---------------------------------------------------------------- sparsity sweep


def test_plot_sparsity_sweep_writes_valid_images(sweep_rows, tmp_path):
    paths = plots.plot_sparsity_sweep(sweep_rows, tmp_path, (0.8, 10.02),
                                      published_energy_point=(0.8, 12.19))
    check_files(paths, ["sparsity_sweep"])


def test_sweep_curves_equal_rows_and_published_points_are_marked(sweep_rows):
    fig = plots._figure_sparsity_sweep(sweep_rows, (0.8, 10.02), (0.8, 12.19),
                                       published_label="published (test)")
    ax = fig.axes[0]
    rows = sorted(sweep_rows, key=lambda r: r["sparsity"])
    for key, prefix in (("speedup", "speedup (simulated)"),
                        ("energy_efficiency", "energy efficiency (simulated)")):
        line = labelled_line(ax, prefix)
        assert list(line.get_xdata()) == [r["sparsity"] for r in rows]
        assert list(line.get_ydata()) == [r[key] for r in rows]
    pub = labelled_line(ax, "speedup (published (test))")
    assert (list(pub.get_xdata()), list(pub.get_ydata())) == ([0.8], [10.02])
    pub = labelled_line(ax, "energy efficiency (published (test))")
    assert (list(pub.get_xdata()), list(pub.get_ydata())) == ([0.8], [12.19])


def test_sweep_without_published_points_marks_none(sweep_rows):
    ax = plots._figure_sparsity_sweep(sweep_rows).axes[0]
    assert not [ln for ln in ax.get_lines() if "published" in ln.get_label()]


# ---------------------------------------------------------------- files


@pytest.mark.slow  # ~3.5 s: every figure rendered twice; CI runs the slow tests too
def test_output_is_byte_identical_across_runs(run_doc, compare_doc, tmp_path):
    def draw(out):
        return (plots.plot_run(run_doc, out, formats=("svg",))
                + plots.plot_compare(compare_doc, out, formats=("svg", "png")))

    a, b = draw(tmp_path / "a"), draw(tmp_path / "b")
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes(), pa.name
    svg = a[0].read_text()
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg


@pytest.mark.slow  # ~3 s: figures in three formats; CI runs the slow tests too
def test_formats_subset_and_unknown_format(run_doc, tmp_path):
    paths = plots.plot_compare(_compare_like(run_doc), tmp_path, formats=("svg",))
    assert [p.name for p in paths] == ["compare.svg", "compare_latency_throughput.svg"]
    with pytest.raises(UsageError, match="plot format"):
        plots.plot_run(run_doc, tmp_path, formats=("pdf", "exe"))
    assert not list(tmp_path.glob("run_*"))  # nothing written when a format is refused
    pdf = plots.plot_run(run_doc, tmp_path / "pdf", formats=("pdf",))
    assert all(p.read_bytes().startswith(b"%PDF") for p in pdf)
    again = plots.plot_run(run_doc, tmp_path / "pdf2", formats=("pdf",))
    assert [p.read_bytes() for p in pdf] == [p.read_bytes() for p in again]  # reproducible


def _compare_like(run_doc):
    """A tiny compare document (design equal to the baseline: every ratio 1)."""
    layers = [{"name": la["name"], "speedup": 1.0, "energy_efficiency": 1.0}
              for la in run_doc["layers"][:3]]
    total = {key: run_doc["total"][key] for key in ("latency_s", "throughput_per_s")}
    return {"arch": "A", "baseline": "B", "net": run_doc["net"], "quantizer": "q",
            "speedup": 1.0, "energy_efficiency": 1.0, "layers": layers, "batch": 1,
            "latency_speedup": 1.0, "throughput_ratio": 1.0, "design_total": total,
            "baseline_total": total}


def test_out_dir_that_is_a_file_is_refused(run_doc, tmp_path):
    from imcsim.errors import ImcsimError

    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ImcsimError, match="not a directory"):
        plots.plot_run(run_doc, f)


def test_import_imcsim_does_not_load_matplotlib():
    code = ("import sys, imcsim, imcsim.report.plots, imcsim.report.trace; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
