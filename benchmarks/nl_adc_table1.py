"""The NL-ADC design at 5 and 8 ramp bits beside Yang et al.'s Table 1 (published-figures.md:
3.7 mW / 4.6 mW and 31.0 / 4.0 TOPS/W at 5 / 8 bits, a keyword-spotting LSTM on a
1.125 kB array, 16 nm, 1 GHz).

Only ratios can be compared: imcsim's reram_ramp is a 512-tile chip and runs the zoo's
networks, not the paper's 1.125 kB keyword-spotting array, so absolute power and TOPS/W
differ by construction. The script writes the shipped reram_ramp.yaml and its circuit
files to a temporary folder with the NL-ADC at 8 bits, runs both on NETWORK and prints
the 8-bit over 5-bit power ratio and the 5-bit over 8-bit TOPS/W ratio (TOPS/W = 2 MACs /
energy) beside the paper's.

Run: python benchmarks/nl_adc_table1.py [--net resnet20]
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAPER = {"power_mw": {5: 3.7, 8: 4.6}, "tops_per_w": {5: 31.0, 8: 4.0}}


def run_at(bits: int, net: str) -> tuple[float, float]:
    """(average power W, TOPS/W) of reram_ramp with its NL-ADC at `bits`."""
    from imcsim.arch import load_arch
    from imcsim.simulate import simulate
    from imcsim.workload.loader import load_network

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copytree(ROOT / "arch_configs" / "circuits", folder / "circuits")
        nl = folder / "circuits" / "nl_adc.yaml"
        nl.write_text(re.sub(r"(?m)^bits: \d+", f"bits: {bits}", nl.read_text()))
        adc = folder / "circuits" / "adc.yaml"  # its counter: as many bits as the ramp
        adc.write_text(re.sub(r"(?m)^(ramp:\n  kind: ramp\n  bits:) \d+", rf"\1 {bits}",
                              adc.read_text()))
        arch_file = folder / "reram_ramp.yaml"
        shutil.copy(ROOT / "arch_configs" / "reram_ramp.yaml", arch_file)
        res = simulate(load_arch(arch_file), load_network(net))
    return res.power_w, 2 * res.macs / res.energy_j / 1e12


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--net", default="resnet20")
    args = parser.parse_args()
    (p5, t5), (p8, t8) = run_at(5, args.net), run_at(8, args.net)
    pp, pt = PAPER["power_mw"], PAPER["tops_per_w"]
    print(f"reram_ramp on {args.net}: 5 bits {p5 * 1e3:.1f} mW, {t5:.2f} TOPS/W; "
          f"8 bits {p8 * 1e3:.1f} mW, {t8:.2f} TOPS/W")
    print(f"power 8-bit / 5-bit:   imcsim {p8 / p5:.2f}x, Table 1 {pp[8] / pp[5]:.2f}x")
    print(f"TOPS/W 5-bit / 8-bit:  imcsim {t5 / t8:.2f}x, Table 1 {pt[5] / pt[8]:.2f}x")


if __name__ == "__main__":
    main()
