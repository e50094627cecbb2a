"""Speed and memory of a full ResNet-18 run on FAT (targets: < 2 s wall, < 10x one numpy
pass over the 11.7 M weights, < 1 GiB peak memory).

Run: python benchmarks/bench_run.py [--repeat 3]
Prints: the wall time of `imcsim run --arch arch_configs/fat.yaml --net resnet18` done
in-process (weights generated and ternarised, every layer planned and simulated), the
simulation alone (planning + engine, weights already loaded), two numpy passes over the
11.7 M weights - the cheapest (per-output-channel nonzero counts of the int8 levels) and
a TWN pass over float32 weights (|w| > 0.7 mean|w|, counted per channel) - their ratios,
and the peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
from pathlib import Path

import numpy as np
from timing import best_of

ROOT = Path(__file__).resolve().parents[1]



def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from imcsim.arch import load_arch
    from imcsim.simulate import simulate
    from imcsim.workload.loader import load_network

    arch = load_arch(ROOT / "arch_configs" / "fat.yaml")
    net = load_network("resnet18")
    simulate(arch, net)  # warm-up: numba kernels compiled / loaded from cache

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


if __name__ == "__main__":
    main()
