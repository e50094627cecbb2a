"""The `imcsim` command: parses arguments, calls the library, prints results.

Every user error is an ImcsimError: one line on stderr, exit code 2, no traceback
unless --debug. `--format json` prints exactly one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from imcsim import __version__
from imcsim.errors import ImcsimError, UsageError


def _common(p: argparse.ArgumentParser, net: bool = True) -> None:
    if net:
        p.add_argument("--net", required=True,
                       help="a zoo name, a shipped network (imcsim list networks) or a "
                            "graph file (.yaml/.yml/.json/.onnx)")
        p.add_argument("--sparsity", type=float, default=None,
                       help="target zero fraction of the ternary weights, in [0, 1) "
                            "(default: TWN threshold 0.7*mean|W|)")
        p.add_argument("--seq", type=int, default=None, metavar="N",
                       help="tokens of a sequence network (bert_base, gpt2; default 128)")
        p.add_argument("--decode", action="store_true",
                       help="one decode step of a decoder (gpt2) with --kv-cache N tokens")
        p.add_argument("--kv-cache", type=int, default=None, metavar="N",
                       help="cached tokens of a --decode step")
        p.add_argument("--batch", type=int, default=1, metavar="N",
                       help="inputs per run: pipeline stages where weights stay on chip, "
                            "else layer by layer with the inputs side by side (default 1)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of every random draw (generated weights, Monte Carlo, noise)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def _plot_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--plot", metavar="DIR", default=None, help="write PNG/SVG plots here")
    p.add_argument("--plot-format", default="png,svg", help="comma-separated: png, svg, pdf")


def _formats(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(f.strip() for f in args.plot_format.split(",") if f.strip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imcsim",
        description="Cycle-level simulator of in-memory-computing hardware for quantized "
                    "neural networks.")
    parser.add_argument("--version", action="version", version=f"imcsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    lst = sub.add_parser("list", help="the shipped designs, networks and sweep specs")
    lst.add_argument("what", nargs="?", choices=("designs", "networks", "sweeps", "all"),
                     default="all")
    lst.add_argument("--format", choices=("text", "json"), default="text")
    lst.add_argument("--debug", action="store_true", help="show tracebacks")

    run = sub.add_parser("run", help="simulate a network on an arch")
    run.add_argument("--arch", required=True,
                     help="arch YAML, or a shipped design by name (fat, parapim, ...: "
                          "imcsim list designs)")
    _common(run)
    run.add_argument("--out", default=None,
                     help="write summary.json, layers.csv, energy_breakdown.csv here")
    _plot_options(run)
    run.add_argument("--trace", metavar="FILE", default=None,
                     help="write a Chrome/Perfetto trace (JSON), e.g. traces/run.json")
    run.add_argument("--trace-max-events", type=int, default=20000, metavar="N",
                     help="events per track in the trace; longer tracks are merged "
                          "(busy cycles kept)")
    run.add_argument("--functional", action="store_true",
                     help="also execute the bit-serial micro-programs on real data (small "
                          "networks) and check outputs and cycles against the fast path")
    run.add_argument("--functional-layers", type=int, default=None, metavar="N",
                     help="with --functional: only the first N layers")
    run.add_argument("--accuracy", action="store_true",
                     help="also report accuracy on a labelled set (network file with "
                          "test_split.npz beside it, or --dataset) as the arch computes it")
    run.add_argument("--dataset", default=None, help="labelled set (.npz: images, labels)")
    run.add_argument("--samples", type=int, default=None, help="first N samples only")
    run.add_argument("--drift-time", default="0",
                     help="time since programming for analog devices, e.g. 3600, 1h, 1d, 1y")
    run.add_argument("--repeat", type=int, default=None, metavar="K",
                     help="photonic designs: repeat-and-average every MVM K times (dynamic "
                          "precision; overrides photonic.precision.default_repeats)")
    run.add_argument("--bit-flip-rate", type=float, default=0.0,
                     help="digital designs: probability that a stored weight bit flips")
    run.add_argument("--snr-db", default=None, metavar="X",
                     help="analog designs: inject Gaussian noise on every weight layer's "
                          "product at signal-to-noise power ratio X dB (per input: noise "
                          "power = the product's mean square x 10^(-X/10))")
    run.add_argument("--votes", default=None, metavar="K",
                     help="accuracy of the majority class over K noisy inferences per "
                          "input (default 1)")

    cmp = sub.add_parser("compare", help="a design beside its baseline")
    cmp.add_argument("--arch", required=True, help="design arch YAML or shipped name")
    cmp.add_argument("--baseline", required=True, help="baseline arch YAML or shipped name")
    _common(cmp)
    _plot_options(cmp)

    val = sub.add_parser("validate", help="check the shipped reference designs against "
                                          "their published figures")
    val.add_argument("designs", nargs="*", metavar="DESIGN",
                     help="reference designs to check (default: all; `imcsim list designs`)")
    val.add_argument("--arch", default=None,
                     help="a config replacing the one named design's (e.g. your edited fat)")
    val.add_argument("--baseline", default=None,
                     help="a config replacing the baseline of its comparisons")
    _common(val, net=False)
    circ = sub.add_parser("circuit", help="circuit studies: AID multiplier, ADCs, "
                                          "nonlinear ramp ADC")
    circ.add_argument("kind", choices=("aid", "adc", "nl-adc"))
    circ.add_argument("--config", default=None,
                      help="circuit YAML (default arch_configs/circuits/<kind>.yaml)")
    _common(circ, net=False)

    wl = sub.add_parser("workload", help="inspect or import networks")
    wsub = wl.add_subparsers(dest="workload_command", required=True, metavar="ACTION")
    info = wsub.add_parser("info", help="per-layer shapes, MACs, params, bits, sparsity")
    info.add_argument("net", metavar="NAME|PATH")
    info.add_argument("--sparsity", type=float, default=None)
    info.add_argument("--seq", type=int, default=None, metavar="N",
                      help="tokens: of a zoo sequence network (bert_base, gpt2; default "
                           "128), or an .onnx file's unknown non-batch input dims")
    info.add_argument("--input-shape", action="append", default=[], metavar="NAME=D1,D2,..",
                      help="pin an .onnx input's whole shape (repeatable)")
    info.add_argument("--decode", action="store_true",
                      help="one decode step of a decoder (gpt2) with --kv-cache N tokens")
    info.add_argument("--kv-cache", type=int, default=None, metavar="N",
                      help="cached tokens of a --decode step")
    _common(info, net=False)
    imp = wsub.add_parser("import", help="ONNX/QONNX model -> native YAML + npz")
    imp.add_argument("model", metavar="MODEL.onnx")
    imp.add_argument("-o", "--out", required=True, help="e.g. workloads/X.yaml")
    imp.add_argument("--debug", action="store_true")

    swp = sub.add_parser("sweep", help="a design-space sweep, on all cores or on Dask")
    swp.add_argument("spec", metavar="SPEC.yaml",
                     help="sweep spec, or a shipped one by name (fat_sparsity: imcsim list "
                          "sweeps)")
    swp.add_argument("--out", default=None, metavar="DIR",
                     help="sweep.csv, the sweep.jsonl journal and plots (default "
                          "out/<spec name>); run again to resume")
    swp.add_argument("--workers", type=int, default=None, metavar="N",
                     help="worker processes (default: all cores; 1 runs inline)")
    swp.add_argument("--dask", default=None, metavar="local|tcp://HOST:PORT",
                     help="run on a Dask LocalCluster or an existing scheduler")
    swp.add_argument("--batch", type=int, default=1, metavar="N",
                     help="inputs per run for points that do not sweep batch (default 1)")
    swp.add_argument("--quiet", action="store_true", help="no progress bar")
    swp.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def _emit(args: argparse.Namespace, doc: Any, text: str) -> None:
    if args.format == "json":
        from imcsim.report.files import json_text

        sys.stdout.write(json_text(doc))
    else:
        print(text)


def _kv_cache(args: argparse.Namespace) -> int | None:
    """--decode with --kv-cache N: N; neither: None; one without the other: an error."""
    if args.decode != (args.kv_cache is not None):
        raise UsageError("--decode and --kv-cache N go together", key="kv-cache")
    return args.kv_cache


def _number(text: str | None, key: str, kind: type) -> Any:
    """`text` as an int or a float (None stays None); a UsageError naming `key` if not."""
    if text is None:
        return None
    try:
        return kind(text)
    except ValueError:
        raise UsageError(f"expected {'an integer' if kind is int else 'a number'}, got "
                         f"{text!r}", key=key) from None


def cmd_run(args: argparse.Namespace) -> int:
    from imcsim import app

    outputs = {"out": args.out, "plot": args.plot, "formats": _formats(args),
               "trace": args.trace, "max_events_per_track": args.trace_max_events}
    app.check_outputs(**outputs)  # bad output arguments fail before any work
    accuracy = None
    if not args.accuracy:
        for flag, value in (("snr_db", args.snr_db), ("votes", args.votes)):
            if value is not None:
                raise UsageError("needs --accuracy", key=flag)
    if args.accuracy:
        from imcsim.accuracy import check_snr_db, check_votes, parse_duration

        accuracy = app.AccuracyRequest(dataset=args.dataset, samples=args.samples,
                                       drift_time_s=parse_duration(args.drift_time),
                                       bit_flip_rate=args.bit_flip_rate,
                                       snr_db=check_snr_db(_number(args.snr_db, "snr_db",
                                                                   float)),
                                       votes=check_votes(_number(args.votes or "1", "votes",
                                                                 int)))
    outcome = app.run(args.arch, args.net, sparsity=args.sparsity, seed=args.seed,
                      progress=not args.quiet, options={"repeat": args.repeat},
                      functional=args.functional, functional_layers=args.functional_layers,
                      accuracy=accuracy, batch=args.batch, seq=args.seq,
                      kv_cache=_kv_cache(args))
    if args.out or args.plot or args.trace:
        outcome.save(**outputs)
    _emit(args, outcome.document(), outcome.text())
    return 0 if outcome.ok else 1


def cmd_compare(args: argparse.Namespace) -> int:
    from imcsim import app

    if args.plot:
        app.check_outputs(plot=args.plot, formats=_formats(args))
    cmp = app.compare_designs(args.arch, args.baseline, args.net, sparsity=args.sparsity,
                              seed=args.seed, progress=not args.quiet, batch=args.batch,
                              seq=args.seq, kv_cache=_kv_cache(args))
    if args.plot:
        from imcsim.report.plots import plot_compare

        plot_compare(cmp, args.plot, formats=_formats(args))
    _emit(args, cmp, app.compare_text(cmp))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from imcsim.report.text import validate_text
    from imcsim.validate import validate

    report = validate(args.designs or None, arch=args.arch, baseline=args.baseline,
                      seed=args.seed)
    checks = report["checks"]
    files = ", ".join(f"{name} {path}" for name, path in report["files"].items())
    text = f"configs: {files}\n\n" + validate_text(checks, report["reported"])
    _emit(args, report, text)
    return 0 if all(c["pass"] for c in checks) else 1


def cmd_list(args: argparse.Namespace) -> int:
    from imcsim.catalogue import catalogue, catalogue_text

    doc = catalogue(args.what)
    _emit(args, doc, catalogue_text(doc))
    return 0


def cmd_circuit(args: argparse.Namespace) -> int:
    from imcsim.circuits.study import circuit_command

    doc, text = circuit_command(args.kind, {"config": args.config, "seed": args.seed})
    _emit(args, doc, text)
    return 0


def cmd_workload(args: argparse.Namespace) -> int:
    if args.workload_command == "info":
        from imcsim.workload import load_network, workload_info, workload_info_text
        from imcsim.workload.pins import parse_input_shapes

        doc = workload_info(load_network(args.net, sparsity=args.sparsity, seed=args.seed,
                                         seq=args.seq,
                                         input_shapes=parse_input_shapes(args.input_shape),
                                         kv_cache=_kv_cache(args)))
        _emit(args, doc, workload_info_text(doc))
    else:
        from imcsim.workload import import_to_native

        path = import_to_native(args.model, args.out)
        print(f"wrote {path} and {path.with_suffix('.npz')}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from imcsim.shipped import resolve_sweep
    from imcsim.sweep import load_spec, pending_points, run_sweep

    args.spec = str(resolve_sweep(args.spec))
    out = Path(args.out) if args.out else Path("out") / Path(args.spec).stem
    done, left = pending_points(load_spec(args.spec, args.batch), out)
    try:
        csv = run_sweep(args.spec, out, workers=args.workers, dask=args.dask,
                        progress=not args.quiet, batch=args.batch)
    except KeyboardInterrupt:
        saved, rest = pending_points(load_spec(args.spec, args.batch), out)
        print(f"imcsim: {saved} sweep points saved in {out / 'sweep.jsonl'}, {rest} left; "
              "run the same command again to resume", file=sys.stderr)
        raise
    print(f"sweep: {done + left} points ({left} run, {done} from the journal): {csv}")
    return 0


COMMANDS = {"list": cmd_list, "run": cmd_run, "sweep": cmd_sweep, "workload": cmd_workload, "compare": cmd_compare, "validate": cmd_validate,
            "circuit": cmd_circuit}


def _with_flag(exc: ImcsimError) -> str:
    """The error's message, with a library argument name (e.g. `plot_format`) spelt as
    the command-line flag that gave it (`--plot-format`)."""
    if exc.key and exc.key in ARGUMENT_KEYS:
        flag = "--" + exc.key.replace("_", "-")
        return str(type(exc)(exc.bare_message, source=exc.source, key=flag))
    return str(exc)


ARGUMENT_KEYS = ("arch", "baseline", "net", "sparsity", "seed", "out", "plot", "trace", "trace_max_events",
                 "plot_format", "functional",
                 "functional_layers", "accuracy", "dataset", "samples", "drift_time",
                 "repeat", "bit_flip_rate", "snr_db", "votes", "workers", "dask")


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: outputs not yet complete are not written."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the program itself, not a call from Python: exit quickly. The
        # interpreter's last garbage collection walks every object still alive (~0.15 s
        # after a ResNet-18 run); frozen, they are skipped (and still freed by refcount)
        atexit.register(gc.freeze)
    args = build_parser().parse_args(argv)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return COMMANDS[args.command](args)
    except ImcsimError as exc:
        if args.debug:
            raise
        print(f"imcsim: error: {_with_flag(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print("imcsim: interrupted", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    except BrokenPipeError:  # e.g. `imcsim run ... | head`: the reader left, not an error
        sys.stderr.close()
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
