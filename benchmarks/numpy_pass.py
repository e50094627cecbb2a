"""The reference process for `bench_run.py`: a bare numpy process that draws ResNet-18's
11.7 M conv/fc weights (He-normal, float32, seeded) and ternarises and counts them per
output channel (TWN: |w| > 0.7 mean|w|). A whole imcsim run does this and much more;
the ratio of the two processes is the start-up and simulation overhead.

Run: python benchmarks/numpy_pass.py
"""

from __future__ import annotations

import numpy as np

# (out_channels, fan_in) of ResNet-18's 21 weight layers (torchvision layout)
SHAPES = ([(64, 3 * 49)] + [(64, 64 * 9)] * 4
          + [(128, 64 * 9), (128, 128 * 9), (128, 64)] + [(128, 128 * 9)] * 2
          + [(256, 128 * 9), (256, 256 * 9), (256, 128)] + [(256, 256 * 9)] * 2
          + [(512, 256 * 9), (512, 512 * 9), (512, 256)] + [(512, 512 * 9)] * 2
          + [(1000, 512)])


def main() -> None:
    rng = np.random.default_rng(0)
    total = 0
    for out_ch, fan_in in SHAPES:
        w = rng.standard_normal((out_ch, fan_in), dtype=np.float32) * np.sqrt(2.0 / fan_in)
        a = np.abs(w)
        levels = np.where(a > 0.7 * a.mean(), np.sign(w), 0).astype(np.int8)
        total += int(np.count_nonzero(levels, axis=1).sum())
    print(f"{sum(o * f for o, f in SHAPES):,} weights, {total:,} nonzero")


if __name__ == "__main__":
    main()
