"""The application layer: what a command does, as library calls (the CLI, sweeps, tests
and a Python user call the same thing). It builds the one run document (the result,
plus the functional and accuracy blocks when asked) that `--format json`, `--out`'s
summary.json and the plots all read, and the text report beside it. Errors name the
argument or key the caller gave.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imcsim.designs.base import ArchBase
from imcsim.designs.protocol import FunctionalReport
from imcsim.designs.registry import design_kind
from imcsim.errors import UsageError
from imcsim.report.plot_names import DEFAULT_FORMATS as DEFAULT_PLOT_FORMATS
from imcsim.report.plot_names import FORMATS as PLOT_FORMATS
from imcsim.report.plot_names import RUN_FIGURES
from imcsim.report.result import LayerResult, RunResult
from imcsim.shipped import resolve_network
from imcsim.workload.layer import Network, check_batch


def load_design(path: str | Path, options: dict[str, Any] | None = None) -> ArchBase:
    """The arch at `path` (or the shipped design of that name, where no such file
    exists: ``fat``, ``fat.yaml``), with the run `options` its design kind turns into key
    overrides (photonic: `repeat`); an option the kind does not take is a UsageError."""
    from imcsim.arch import load_arch
    from imcsim.shipped import resolve_design

    path = resolve_design(path)
    arch = load_arch(path)
    overrides = design_kind(arch.kind, source=arch.source).option_overrides(
        dict(options or {}))
    return load_arch(path, overrides) if overrides else arch


def check_outputs(*, out: str | Path | None = None, plot: str | Path | None = None,
                  formats: Sequence[str] = DEFAULT_PLOT_FORMATS,
                  trace: str | Path | None = None, max_events_per_track: int = 20000) -> None:
    """Every output option is usable, checked before any work: folders that are real
    directories (or do not exist yet), files that are regular (or do not exist yet),
    known plot formats, a trace event limit of at least 2."""
    from imcsim.atomic import check_dir_target, check_file_target
    from imcsim.report.files import check_out_dir

    if out is not None:
        check_out_dir(out)
    if plot is not None:
        check_dir_target(plot, UsageError, "plot")
        for fmt in check_plot_formats(formats):
            for stem in RUN_FIGURES:
                check_file_target(Path(plot) / f"{stem}.{fmt}", UsageError, "plot")
    if trace is not None:
        check_file_target(trace, UsageError, "trace")
        if isinstance(max_events_per_track, bool) or max_events_per_track < 2:
            raise UsageError(f"must be at least 2, got {max_events_per_track}",
                             key="trace_max_events")
    paths = [Path(p).resolve() for p in (out, plot) if p is not None]
    if trace is not None and Path(trace).resolve() in paths:
        raise UsageError("the trace file cannot be an output folder", key="trace")


def check_plot_formats(formats: Sequence[str]) -> tuple[str, ...]:
    out = tuple(formats)
    for fmt in out:
        if fmt not in PLOT_FORMATS:
            raise UsageError(f"unknown plot format {fmt!r} (choose from "
                             f"{', '.join(PLOT_FORMATS)})", key="plot_format")
    if not out:
        raise UsageError("no plot format given", key="plot_format")
    return out


@dataclass
class AccuracyRequest:
    """`--accuracy`: the labelled set and how products are computed."""

    dataset: str | None = None
    samples: int | None = None
    drift_time_s: float = 0.0
    bit_flip_rate: float = 0.0
    snr_db: float | None = None  # injected analog noise (analog designs)
    votes: int = 1  # majority vote over this many noisy inferences


@dataclass
class Result:
    """A run and what was asked beside it: `totals` and `layers` (the simulated figures),
    `functional` and `accuracy` when asked; `to_dict()` is the one run document (the JSON
    of `imcsim run --format json`), `text()` the report, and `write`, `plot`, `trace` the
    files."""

    arch: ArchBase
    net: Network
    result: RunResult
    functional: FunctionalReport | None = None
    accuracy: dict[str, Any] | None = None
    _doc: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def totals(self) -> dict[str, Any]:
        """Cycles, time_s, energy_j, power_w, area_mm2, macs, utilisation, breakdowns."""
        return dict(self.document()["total"])

    @property
    def layers(self) -> list[LayerResult]:
        return self.result.layers

    def to_dict(self) -> dict[str, Any]:
        return self.document()

    def document(self) -> dict[str, Any]:
        if self._doc is None:
            doc = self.result.to_dict()
            if self.functional is not None:
                doc["functional"] = self.functional.to_dict()
            if self.accuracy is not None:
                doc["accuracy"] = self.accuracy
            if self.net.meta:
                doc["network"] = {**dict(self.net.meta), **decode_figures(self.net,
                                                                         self.result)}
            self._doc = doc
        return self._doc

    def text(self) -> str:
        from imcsim.report.text import run_text

        kind = design_kind(self.result.kind)
        text = run_text(self.result, kind.report_lines(self.result)
                        + decode_lines(self.net, self.result))
        if self.functional is not None:
            text += "\n\n" + self.functional.text()
        if self.accuracy is not None:
            acc = self.accuracy
            text += (f"\n\naccuracy on {acc['samples']} samples: {acc['simulated']:.4f} "
                     f"(exact reference {acc['reference']:.4f}; {acc['model']})")
        return text

    @property
    def ok(self) -> bool:
        """False if a functional check found a mismatch."""
        return self.functional is None or self.functional.all_match

    def write(self, out_dir: str | Path) -> list[Path]:
        """summary.json, layers.csv and energy_breakdown.csv in `out_dir`."""
        return self.save(out=out_dir)

    def plot(self, out_dir: str | Path,
             formats: Sequence[str] = DEFAULT_PLOT_FORMATS) -> list[Path]:
        """Cycles, energy and utilisation per layer and over time, in `out_dir`."""
        return self.save(plot=out_dir, formats=formats)

    def trace(self, path: str | Path, max_events_per_track: int = 20000) -> Path:
        """The Chrome/Perfetto trace of the engine's job record."""
        return self.save(trace=path, max_events_per_track=max_events_per_track)[0]

    def save(self, *, out: str | Path | None = None, plot: str | Path | None = None,
             formats: Sequence[str] = DEFAULT_PLOT_FORMATS, trace: str | Path | None = None,
             max_events_per_track: int = 20000) -> list[Path]:
        """Every output asked for, rendered first and written as one set: an error or an
        interrupt leaves none of them."""
        from imcsim.atomic import write_files

        check_outputs(out=out, plot=plot, formats=formats, trace=trace,
                      max_events_per_track=max_events_per_track)
        sink: dict[Path, bytes] = {}
        if trace is not None:
            from imcsim.report.trace import write_trace

            write_trace(trace, self.result.record, self.result.frequency_hz,
                        max_events_per_track,
                        layer_names=[la.name for la in self.result.layers]
                        + [op.name for op in self.result.ops], sink=sink,
                        schedule=self.result.schedule)
        if out is not None:
            from imcsim.report.files import write_run_outputs

            write_run_outputs(out, self.document(), sink=sink)
        if plot is not None:
            from imcsim.report.plots import plot_pipeline, plot_run, plot_utilisation_timeline

            plot_run(self.document(), plot, formats=formats, sink=sink)
            if self.result.schedule is not None:  # the record is one input's: a Gantt instead
                plot_pipeline(self.result.schedule, [la.name for la in self.result.layers],
                              self.result.frequency_hz, plot, formats=formats, sink=sink)
            else:
                plot_utilisation_timeline(self.result.record, self.result.frequency_hz, plot,
                                          formats=formats, lanes=self.result.lanes, sink=sink)
        return write_files(sink, UsageError)


def decode_figures(net: Network, result: RunResult) -> dict[str, Any]:
    """A decode step's figures per token: its latency and energy (the run is one token's
    step), and where the new K/V went: into the arrays when the attention matmuls run
    there (their dynamic operands), else into the buffer the vector unit reads."""
    meta = dict(net.meta)
    if not meta.get("decode_step"):
        return {}
    on_arrays = any(op.unit == "arrays" and op.kind == "activation" for op in result.ops)
    return {"latency_per_token_s": result.latency_s,
            "energy_per_token_j": result.energy_j / result.batch,
            "kv_written_into": "arrays" if on_arrays else "buffer",
            "kv_bytes_written": meta["kv_elements_written"] * KV_BYTES,
            "kv_bytes_read": meta["kv_elements_read"] * KV_BYTES}


KV_BYTES = 1  # bytes per cached K/V element: the 8-bit activations every shipped design uses


def decode_lines(net: Network, result: RunResult) -> list[str]:
    """A decode step's per-token figures and KV-cache traffic."""
    from imcsim.report.text import si

    fig = decode_figures(net, result)
    if not fig:
        return []
    meta = dict(net.meta)
    return [f"decode step, the cache {meta['kv_cache_tokens']:,} tokens with the new one: "
            f"per token {si(fig['latency_per_token_s'], 's')}, "
            f"{si(fig['energy_per_token_j'], 'J')}; K/V written "
            f"{fig['kv_bytes_written']:,} bytes into the {fig['kv_written_into']}, read "
            f"{fig['kv_bytes_read']:,} bytes"]


def _status(text: str, progress: bool) -> None:
    """One status line on stderr, where progress bars are drawn (a terminal)."""
    from imcsim.report.progress import bar_wanted

    if bar_wanted(progress):
        print(f"imcsim: {text}", file=sys.stderr, flush=True)


def _design(arch: str | Path | ArchBase, options: dict[str, Any] | None = None) -> ArchBase:
    return arch if isinstance(arch, ArchBase) else load_design(arch, options)


def _network(net: str | Path | Network, sparsity: float | None, seed: int,
             progress: bool = False, seq: int | None = None,
             kv_cache: int | None = None) -> Network:
    """`net` itself, or the zoo network / (shipped) graph file it names, loaded (`seq`
    tokens for a sequence network)."""
    from imcsim.workload.loader import load_network

    if isinstance(net, Network):
        return net
    source = resolve_network(net)
    _status(f"{source}: drawing and quantizing the weights", progress)
    return load_network(source, sparsity=sparsity, seed=seed, seq=seq, kv_cache=kv_cache)


def run(arch: str | Path | ArchBase, net: str | Path | Network, *,
        sparsity: float | None = None, seed: int = 0, progress: bool = False,
        options: dict[str, Any] | None = None, functional: bool = False,
        functional_layers: int | None = None,
        accuracy: AccuracyRequest | None = None, batch: int = 1,
        seq: int | None = None, kv_cache: int | None = None) -> Result:
    """Simulate `net` (a zoo name, a graph file or a Network) on `arch` (a YAML path or
    an arch) over `batch` inputs, with the functional check and the accuracy run when
    asked (both on one input)."""
    from imcsim.simulate import simulate

    check_batch(batch)
    design = _design(arch, options)
    kind = design_kind(design.kind, source=design.source)
    if functional_layers is not None and functional_layers < 1:
        raise UsageError(f"must be at least 1, got {functional_layers}",
                         key="functional_layers")
    if accuracy is not None and not isinstance(net, (str, Path)):
        raise UsageError("accuracy needs the network's file (the graph is run)", key="net")
    network = _network(net, sparsity, seed, progress, seq, kv_cache)
    result = simulate(design, network, progress=progress, batch=batch)
    outcome = Result(design, network, result)
    if functional:
        outcome.functional = kind.functional_check(design, network, functional_layers)
    if accuracy is not None:
        from imcsim.accuracy import evaluate

        assert not isinstance(net, Network)  # refused above: accuracy runs the graph file
        outcome.accuracy = evaluate(
            design, str(resolve_network(net)), dataset=accuracy.dataset, seed=seed,
            drift_time_s=accuracy.drift_time_s, bit_flip_rate=accuracy.bit_flip_rate,
            functional=functional, samples=accuracy.samples, snr_db=accuracy.snr_db,
            votes=accuracy.votes)
    return outcome


def compare_designs(arch: str | Path | ArchBase, baseline: str | Path | ArchBase,
                    net: str | Path | Network, *, sparsity: float | None = None,
                    seed: int = 0, progress: bool = False, batch: int = 1,
                    seq: int | None = None, kv_cache: int | None = None) -> dict[str, Any]:
    """The comparison document of `arch` against `baseline` on one network, over
    `batch` inputs."""
    from imcsim.comparison import compare
    from imcsim.simulate import simulate

    check_batch(batch)
    network = _network(net, sparsity, seed, progress, seq, kv_cache)
    return compare(simulate(_design(arch), network, progress=progress, batch=batch),
                   simulate(_design(baseline), network, progress=progress, batch=batch))



def compare_text(doc: dict[str, Any]) -> str:
    """The comparison's text report, with what the design kind adds."""
    from imcsim.report.text import compare_text as table

    lines = design_kind(doc["kind"]).compare_report_lines(doc) if doc["details"] else []
    return table(doc, lines)
