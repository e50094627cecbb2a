"""Speed of the ONNX importer on a float ResNet-18 (target: import < 3 s).

Run: python benchmarks/bench_import.py [--repeat 3] [--keep DIR]
Builds the zoo's ResNet-18 (synthetic float weights, 11.7 M parameters), exports it
with `graph_to_onnx` (~47 MB .onnx, weights inline), then prints the best-of-N wall time
of `import_onnx` (parse, tensors, shape check), of `load_network` on the file (import +
TWN ternarisation + lowering) and, for scale, of the native YAML+npz round trip, and
checks that the imported network has the zoo's per-layer MACs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from timing import best_of

TARGET_S = 3.0



def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", default=None, help="write the model here and keep it")
    args = parser.parse_args()

    import onnx

    from imcsim.workload import graph_to_onnx, import_onnx, load_network
    from imcsim.workload.native import read_native, write_native
    from imcsim.workload.zoo import resnet18

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.keep or tmp)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "resnet18_float.onnx"
        t0 = time.perf_counter()
        onnx.save(graph_to_onnx(resnet18()), path)
        build = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        t_import = best_of(lambda: import_onnx(path), args.repeat)
        t_load = best_of(lambda: load_network(str(path)), args.repeat)
        zoo, net = load_network("resnet18"), load_network(str(path))
        same = [a.macs for a in zoo.layers] == [b.macs for b in net.layers]
        yaml_path = write_native(import_onnx(path), out / "resnet18_float.yaml")
        t_native = best_of(lambda: read_native(yaml_path), args.repeat)

    print(f"ResNet-18 float ONNX: {size_mb:.1f} MB (built and saved in {build:.2f} s)")
    print(f"import_onnx:          {t_import:.3f} s (best of {args.repeat}; target < "
          f"{TARGET_S:.0f} s: {'ok' if t_import < TARGET_S else 'MISSED'})")
    print(f"load_network(.onnx):  {t_load:.3f} s (import + TWN + lowering)")
    print(f"read_native(.yaml):   {t_native:.3f} s")
    print(f"per-layer MACs equal to the zoo's: {same} ({net.total_macs:,} MACs)")


if __name__ == "__main__":
    main()
