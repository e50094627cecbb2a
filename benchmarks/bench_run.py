"""Speed and memory of whole runs on FAT.

As processes (the targets): a warm `imcsim run --arch fat --net resnet18` against the
numpy-pass process (`numpy_pass.py`: draw, ternarise and count the same 11.7 M weights;
target: at most 2x), and a VGG-16 run's wall time and peak memory (targets: <= 3 s,
<= 500 MB); medians of --repeat runs. Then, in process: the planning of ResNet-18 alone
(the mapping search; target: well under a second), the figures below, and BERT-base
(seq 128) on fat_transformer.yaml in-process (target: <= 3 s).

Run: python benchmarks/bench_run.py [--repeat 3]
Prints also: the wall time of `imcsim run --arch arch_configs/fat.yaml --net resnet18` done
in-process (weights generated and ternarised, every layer planned and simulated), the
simulation alone (planning + engine, weights already loaded), two numpy passes over the
11.7 M weights - the cheapest (per-output-channel nonzero counts of the int8 levels) and
a TWN pass over float32 weights (|w| > 0.7 mean|w|, counted per channel) - their ratios,
and the peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from timing import best_of

ROOT = Path(__file__).resolve().parents[1]



RUN = [sys.executable, "-m", "imcsim.cli", "run", "--arch", "fat", "--quiet", "--net"]
PEAK = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
        "stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def process_seconds(command: list[str], repeat: int) -> float:
    """Median wall time of `command` as a process."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def processes(repeat: int) -> None:
    subprocess.run(RUN + ["resnet18"], check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    run = process_seconds(RUN + ["resnet18"], repeat)
    numpy_pass = process_seconds([sys.executable, str(ROOT / "benchmarks" / "numpy_pass.py")],
                                 repeat)
    vgg = process_seconds(RUN + ["vgg16"], repeat)
    peak = subprocess.run([sys.executable, "-c", PEAK, *RUN, "vgg16"], check=True,
                          capture_output=True, text=True, cwd=ROOT).stdout
    print(f"warm resnet18 run process:              {run:.3f} s (median of {repeat})")
    print(f"numpy-pass process:                     {numpy_pass:.3f} s")
    print(f"ratio run / numpy pass (processes):     {run / numpy_pass:.2f}x (target <= 2x)")
    print(f"vgg16 run process:                      {vgg:.3f} s (target <= 3 s)")
    print(f"vgg16 peak resident memory:             {int(peak) / 1024:.0f} MiB "
          "(target <= 500 MB)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    processes(args.repeat)

    from imcsim.arch import load_arch
    from imcsim.simulate import simulate
    from imcsim.workload.loader import load_network

    arch = load_arch(ROOT / "arch_configs" / "fat.yaml")
    net = load_network("resnet18")
    simulate(arch, net)  # warm-up: modules imported, caches filled

    from imcsim.designs.bitserial.plan import plan_network

    plan = best_of(lambda: plan_network(arch, net), args.repeat)
    print(f"resnet18 planning (mapping search):     {plan:.3f} s")
    full = best_of(lambda: simulate(arch, load_network("resnet18")), args.repeat)
    sim = best_of(lambda: simulate(arch, net), args.repeat)
    weights = [layer.weights.reshape(layer.out_channels, -1) for layer in net.layers]
    numpy_pass = best_of(lambda: [np.count_nonzero(w, axis=1) for w in weights],
                         max(args.repeat, 5))
    rng = np.random.default_rng(0)
    floats = [rng.standard_normal(w.shape, dtype=np.float32) for w in weights]
    twn_pass = best_of(lambda: [np.count_nonzero(np.abs(w) > 0.7 * np.abs(w).mean(), axis=1)
                                for w in floats], max(args.repeat, 5))
    n_weights = sum(w.size for w in weights)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"weights: {n_weights:,}")
    print(f"full run (load + ternarise + simulate): {full:.3f} s")
    print(f"simulation only (plan + engine):        {sim:.3f} s")
    print(f"numpy pass (nonzeros per channel):      {numpy_pass * 1e3:.1f} ms")
    print(f"numpy TWN pass over float32 weights:    {twn_pass * 1e3:.1f} ms")
    print(f"ratio full / numpy pass:                {full / numpy_pass:.1f}x "
          f"(vs TWN pass {full / twn_pass:.1f}x)")
    print(f"ratio simulation / numpy pass:          {sim / numpy_pass:.1f}x "
          f"(vs TWN pass {sim / twn_pass:.1f}x)")
    print(f"peak resident memory:                   {peak_mib:.0f} MiB")
    transformer = load_arch(ROOT / "arch_configs" / "fat_transformer.yaml")
    bert = best_of(lambda: simulate(transformer, load_network("bert_base")), args.repeat)
    print(f"bert_base seq 128 on fat_transformer (weights drawn, run in-process): "
          f"{bert:.2f} s (target <= 3 s)")


if __name__ == "__main__":
    main()
