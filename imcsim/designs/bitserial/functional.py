"""Bit-exact execution of a layer through the in-memory micro-programs (`--functional`).

This is the detailed path that must agree with the fast one. For every work item of the
chosen mapping it lays the item's activations and accumulators out in a subarray bit
matrix exactly as `imcsim.designs.bitserial.mapping.tiling` describes, runs the real add / subtract /
load / reset / readout micro-programs on real activation data (numba executor,
vectorised across the item's lanes), reads the accumulators out and compares:

- outputs with an integer reference convolution (must be equal, bit for bit);
- the primitive counts the programs executed, times the per-primitive cycles, with the
  fast path's cycles for the same item (must be equal).

Partial sums of split layers go through the reduction items the same way. Between
layers the digital periphery applies ReLU and a right shift back to the activation width
(the shift is the smallest that fits the layer's largest output).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imcsim.circuits import executor as ex
from imcsim.circuits import microprogram as mp
from imcsim.circuits.adder_styles import adder_style
from imcsim.circuits.bitarray import BitArray, values_to_bits
from imcsim.circuits.costs import PrimitiveCosts, SubarrayOpCosts
from imcsim.designs.bitserial.costs import primitive_costs, subarray_op_costs
from imcsim.designs.bitserial.mapping.gather_units import unit_positions
from imcsim.designs.bitserial.mapping.tiling import (
    Geometry,
    LayerItems,
    part_bounds,
    tile_bounds,
)
from imcsim.designs.bitserial.plan import LayerPlan, geometry, plan_layer
from imcsim.designs.bitserial.schema import BitSerialArch as Arch
from imcsim.errors import WorkloadError
from imcsim.functional.im2col import im2col_nchw
from imcsim.workload.layer import ComputeLayer, Network


def im2col(x: np.ndarray, layer: ComputeLayer) -> np.ndarray:
    """(groups, out_pixels, fan_in) receptive fields of input x (C, H, W), zero padded.

    Fan-in order matches weights.reshape(out_channels, -1): (in channel, ky, kx).
    """
    return im2col_nchw(x[None], layer.kernel, layer.stride, layer.dilation, layer.padding,
                       layer.out_hw, layer.groups)


def reference_conv(x: np.ndarray, layer: ComputeLayer) -> np.ndarray:
    """Integer reference: (out_channels, out_pixels) exact sums of activation x weight."""
    cols = im2col(x.astype(np.int64), layer)
    w = layer.weights.reshape(layer.out_channels, -1).astype(np.int64)
    per_group = layer.out_channels // layer.groups
    out = np.empty((layer.out_channels, layer.out_pixels), dtype=np.int64)
    for g in range(layer.groups):
        rows = slice(g * per_group, (g + 1) * per_group)
        out[rows] = w[rows] @ cols[g].T
    return out


@dataclass
class _Layout:
    """Row allocation of one subarray (see imcsim.designs.bitserial.mapping.tiling's picture)."""

    zero: int  # zero-extends operands
    zero2: int  # source of a channel's first operation (accumulators need no reset)
    carry: int | None
    base: int  # first free row

    def acc(self, j: int, n: int) -> list[int]:
        return list(range(self.base + j * n, self.base + (j + 1) * n))


class ItemRunner:
    """Runs the work items of one layer phase and collects outputs and counts."""

    def __init__(self, arch: Arch, geo: Geometry):
        self.style = arch.sense_amp.kind
        self.geo = geo
        self.n = geo.acc_bits
        self.a = geo.activation_bits
        self.sparse = geo.sparse
        self.sparse_loads = geo.sparse and geo.sparse_loads
        carry = 2 if adder_style(self.style).carry_rows else None
        self.layout = _Layout(zero=0, zero2=1, carry=carry, base=geo.reserved_rows)

    def _op(self, acc: list[int], operand: list[int], weight: int, first: bool
            ) -> ex.CompiledProgram:
        """acc +/- operand; the first operation of a channel starts from the zero row."""
        lay = self.layout
        if weight == 0:  # a dense design adds the zero row: an ordinary, useless operation
            operand = [lay.zero]
        source = [lay.zero2] * len(acc) if first else None
        return ex.compile_add(self.style, acc, operand, lay.zero, lay.carry, weight < 0,
                              source)

    def _ops(self, acc: list[int], weights: np.ndarray, operand_of) -> list[ex.CompiledProgram]:
        """The operations the controller issues for one channel's `weights`, in order
        (zero weights skipped when sparse); empty if there is none to start from (the
        caller then resets the accumulator)."""
        progs: list[ex.CompiledProgram] = []
        for f, w in enumerate(weights):
            if w != 0 or not self.sparse:
                progs.append(self._op(acc, operand_of(f), int(w), first=not progs))
        return progs

    def _needed(self, column: np.ndarray) -> bool:
        """Is this activation loaded? Always, unless sparse-aware loading skips one that
        no resident channel adds."""
        return not self.sparse_loads or bool(np.any(column != 0))

    def _load(self, rows: list[int], values: np.ndarray, bits: int) -> ex.CompiledProgram:
        return ex.compile_program(mp.load_program(rows, values_to_bits(values, bits)))

    def segment(self, acts: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, Any]:
        """One segment piece: acts (lanes, part) unsigned, weights (channels, part) ternary.
        Returns the accumulators (channels, lanes) and the executed primitive counts."""
        lanes, part = acts.shape
        n, a, lay = self.n, self.a, self.layout
        ba = BitArray(self.geo.rows, lanes)
        progs: list[ex.CompiledProgram] = []
        if self.geo.stationary(part):  # activation-stationary
            slot0 = lay.base + n
            slots = [list(range(slot0 + f * a, slot0 + (f + 1) * a)) for f in range(part)]
            loaded = [f for f in range(part) if self._needed(weights[:, f])]
            if loaded:
                bits = np.concatenate([values_to_bits(acts[:, f], a) for f in loaded])
                progs.append(ex.compile_program(
                    mp.load_program([r for f in loaded for r in slots[f]], bits)))
            acc = lay.acc(0, n)
            readout = ex.compile_program(mp.readout_program(acc))
            for w_row in weights:
                ops = self._ops(acc, w_row, slots.__getitem__)
                progs += ops or [ex.compile_program(mp.reset_program(acc))]
                progs.append(readout)
        else:  # output-stationary: accumulators stay, activations stream through one slot
            stream = self.geo.max_streaming_accumulators()
            slot = list(range(lay.base + stream * n, lay.base + stream * n + a))
            for r0 in range(0, len(weights), stream):
                rnd = weights[r0:r0 + stream]
                accs = [lay.acc(j, n) for j in range(len(rnd))]
                started = [False] * len(rnd)
                progs += [ex.compile_program(mp.reset_program(acc))
                          for acc, w_row in zip(accs, rnd, strict=True)
                          if self.sparse and not np.any(w_row)]
                for f in range(part):
                    if not self._needed(rnd[:, f]):
                        continue
                    progs.append(self._load(slot, acts[:, f], a))
                    for j, w_row in enumerate(rnd):
                        if w_row[f] != 0 or not self.sparse:
                            progs.append(self._op(accs[j], slot, int(w_row[f]), not started[j]))
                            started[j] = True
                progs += [ex.compile_program(mp.readout_program(acc)) for acc in accs]
        res = ex.run_many(progs, ba)
        out = np.asarray(res.reads).reshape(len(weights), n, lanes)
        return self._signed(out), res.counts

    def gather_pass(self, plus: np.ndarray, minus: np.ndarray) -> tuple[np.ndarray, Any]:
        """One pass of the gather layout: plus (lanes, P) and minus (lanes, M), the
        activations each column adds and subtracts, step by step (zeros where a column's
        unit has fewer). Returns the accumulators (lanes,) and the executed counts."""
        lanes = plus.shape[0]
        n, a, lay = self.n, self.a, self.layout
        ba = BitArray(self.geo.rows, lanes)
        acc = lay.acc(0, n)
        slot = list(range(lay.base + n, lay.base + n + a))
        progs: list[ex.CompiledProgram] = []
        for subtract, acts in ((False, plus), (True, minus)):
            for i in range(acts.shape[1]):
                progs.append(self._load(slot, acts[:, i], a))
                source = [lay.zero2] * n if len(progs) == 1 else None
                progs.append(ex.compile_add(self.style, acc, slot, lay.zero, lay.carry,
                                            subtract, source))
        if not progs:
            progs.append(ex.compile_program(mp.reset_program(acc)))
        progs.append(ex.compile_program(mp.readout_program(acc)))
        res = ex.run_many(progs, ba)
        return self._signed(np.asarray(res.reads).reshape(1, n, lanes))[0], res.counts

    def reduce(self, partials: np.ndarray) -> tuple[np.ndarray, Any]:
        """Sum partials (split, lanes) signed n-bit: load, add, read out."""
        split, lanes = partials.shape
        n, lay = self.n, self.layout
        ba = BitArray(self.geo.rows, lanes)
        acc, operand = lay.acc(0, n), lay.acc(1, n)
        progs = [self._load(acc, partials[0], n)]
        for k in range(1, split):
            progs.append(self._load(operand, partials[k], n))
            progs.append(ex.compile_add(self.style, acc, operand, lay.zero, lay.carry, False))
        progs.append(ex.compile_program(mp.readout_program(acc)))
        res = ex.run_many(progs, ba)
        return self._signed(np.asarray(res.reads).reshape(1, n, lanes))[0], res.counts

    def _signed(self, bits: np.ndarray) -> np.ndarray:
        weights = np.left_shift(np.int64(1), np.arange(self.n, dtype=np.int64))
        v = (bits.astype(np.int64) * weights[None, :, None]).sum(axis=1)
        return np.where(bits[:, -1], v - (np.int64(1) << np.int64(self.n)), v)


def _cycles(counts: Any, prim: PrimitiveCosts) -> int:
    return sum(int(counts.get(k, 0)) * prim.cycles[k] for k in prim.cycles)


@dataclass
class LayerCheck:
    name: str
    items: int
    outputs_match: bool
    cycles_functional: int
    cycles_fast: int
    mismatched_items: int
    max_abs_error: int

    @property
    def cycles_match(self) -> bool:
        return self.mismatched_items == 0 and self.cycles_functional == self.cycles_fast

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "items": self.items, "outputs_match": self.outputs_match,
                "cycles_functional": self.cycles_functional, "cycles_fast": self.cycles_fast,
                "cycles_match": self.cycles_match, "mismatched_items": self.mismatched_items,
                "max_abs_error": self.max_abs_error}


@dataclass
class FunctionalReport:
    layers: list[LayerCheck] = field(default_factory=list)

    @property
    def all_match(self) -> bool:
        """Every checked layer matched, and at least one was checked (a check that ran
        on nothing does not report success)."""
        return bool(self.layers) and all(c.outputs_match and c.cycles_match
                                          for c in self.layers)

    def to_dict(self) -> dict[str, Any]:
        return {"all_match": self.all_match, "layers": [c.to_dict() for c in self.layers]}

    def text(self) -> str:
        lines = ["functional check (micro-programs on real data vs integer reference and "
                 "fast-path cycles):"]
        for c in self.layers:
            lines.append(f"  {c.name:24s} outputs {'EQUAL' if c.outputs_match else 'DIFFER'}"
                         f"  cycles {c.cycles_functional:,} vs {c.cycles_fast:,} "
                         f"{'EQUAL' if c.cycles_match else 'DIFFER'}")
        lines.append("all equal" if self.all_match else "MISMATCH")
        return "\n".join(lines)


Partials = dict[int, list[np.ndarray]]  # output (tile * cout + channel) -> partial sums


def _pixel_main(layer: ComputeLayer, cols: np.ndarray, main: LayerItems, plan: LayerPlan,
                runner: ItemRunner, prim: PrimitiveCosts) -> tuple[Partials, np.ndarray]:
    """The pixel layout's items: per item and segment, its channels on the tile's lanes."""
    w = layer.weights.reshape(layer.out_channels, -1)
    tb = tile_bounds(layer.out_pixels, plan.tiling.tiles)
    pb = part_bounds(layer.fan_in, plan.tiling.split)
    partials: Partials = {}
    functional = np.zeros(len(main), dtype=np.int64)
    idx, pieces = main.index, main.pieces
    assert idx is not None and pieces is not None  # set on every pixel main phase
    for i in range(len(main)):
        span = np.arange(pieces.bounds[i], pieces.bounds[i + 1])
        seg = idx.segment(pieces.unit[span])
        for s in np.unique(seg):
            run = span[seg == s]
            u = pieces.unit[run]
            t, g, k = int(idx.tile(u[:1])[0]), int(idx.group(u[:1])[0]), int(idx.part(u[:1])[0])
            chans = idx.channel(u)
            p0, p1, f0, f1 = tb[t], tb[t + 1], pb[k], pb[k + 1]
            w_run = w[chans, f0:f1].copy()
            for j, (lo, hi) in enumerate(zip(pieces.lo[run], pieces.hi[run], strict=True)):
                w_run[j, :lo] = 0  # a cut channel: only its own fan-in range
                w_run[j, hi:] = 0
            acc, counts = runner.segment(cols[g, p0:p1, f0:f1], w_run)
            for o, row in zip(chans, acc, strict=True):
                partials.setdefault(t * layer.out_channels + int(o), []).append(row)
            functional[i] += _cycles(counts, prim)
    return partials, functional


def _gather_main(layer: ComputeLayer, cols: np.ndarray, main: LayerItems, plan: LayerPlan,
                 runner: ItemRunner, prim: PrimitiveCosts) -> tuple[Partials, np.ndarray]:
    """The gather layout's items: per pass, its units side by side, each column group
    fed the activations its channel's part adds, then those it subtracts."""
    w = layer.weights.reshape(layer.out_channels, -1)
    tb = tile_bounds(layer.out_pixels, plan.tiling.tiles)
    per_group = layer.out_channels // layer.groups
    units = main.units
    assert units is not None  # set on every gather main phase
    partials: Partials = {}
    functional = np.zeros(len(main), dtype=np.int64)
    for i in range(len(main)):
        for j in range(main.unit_bounds[i], main.unit_bounds[i + 1]):
            members = range(len(units.tile))[units.pass_of(j)]
            gathered = []
            for u in members:
                t, o = int(units.tile[u]), int(units.channel[u])
                plus, minus = unit_positions(w[o], int(units.part[u]), units.split,
                                             runner.sparse)
                acts = cols[o // per_group, tb[t]:tb[t + 1]]
                # a dense design adds its zero weights' positions too, as written zeros
                gathered.append((acts[:, plus] * (w[o, plus] != 0), acts[:, minus]))
            steps_p = max(p.shape[1] for p, _ in gathered)
            steps_m = max(m.shape[1] for _, m in gathered)
            plus_all = np.concatenate([_pad(p, steps_p) for p, _ in gathered])
            minus_all = np.concatenate([_pad(m, steps_m) for _, m in gathered])
            acc, counts = runner.gather_pass(plus_all, minus_all)
            c0 = 0
            for u, (p, _) in zip(members, gathered, strict=True):
                lanes = p.shape[0]
                out_id = int(units.tile[u]) * layer.out_channels + int(units.channel[u])
                partials.setdefault(out_id, []).append(acc[c0:c0 + lanes])
                c0 += lanes
            functional[i] += _cycles(counts, prim)
    return partials, functional


def _pad(acts: np.ndarray, steps: int) -> np.ndarray:
    """(lanes, k) activations padded with zero columns to (lanes, steps)."""
    return np.pad(acts, ((0, 0), (0, steps - acts.shape[1])))


MAIN_RUNNERS = {"pixel": _pixel_main, "gather": _gather_main}


def run_layer(layer: ComputeLayer, x: np.ndarray, plan: LayerPlan, arch: Arch,
              ops: SubarrayOpCosts) -> tuple[np.ndarray, LayerCheck]:
    """Execute `layer` on input x (C, H, W) through `plan`; returns outputs (cout, pixels)."""
    geo = geometry(arch, ops)
    prim = primitive_costs(arch)
    runner = ItemRunner(arch, geo)
    cols = im2col(x, layer)
    tb = tile_bounds(layer.out_pixels, plan.tiling.tiles)
    cout = layer.out_channels
    main: LayerItems = plan.phases[0]
    fast = plan.item_costs(arch, ops)[0].compute
    partials, functional = MAIN_RUNNERS[plan.tiling.layout](layer, cols, main, plan, runner,
                                                            prim)
    mismatched = int(np.count_nonzero(functional != fast))
    total_fast, total_func = int(fast.sum()), int(functional.sum())
    out = np.zeros((cout, layer.out_pixels), dtype=np.int64)
    for oid, sums in partials.items():
        if len(sums) == 1:
            t, o = divmod(oid, cout)
            out[o, tb[t]:tb[t + 1]] = sums[0]
    if len(plan.phases) > 1:
        red: LayerItems = plan.phases[1]
        fast_r = plan.item_costs(arch, ops)[1].compute
        assert red.outputs is not None  # set on every reduce phase
        for i in range(len(red)):
            cyc = 0
            chosen = red.outputs[red.unit_bounds[i]:red.unit_bounds[i + 1]]
            for p0 in range(0, len(chosen), red.per_pass):
                ids = [int(oid) for oid in chosen[p0:p0 + red.per_pass]]
                depth = max(len(partials[oid]) for oid in ids)
                stacked = np.concatenate(
                    [_pad(np.stack(partials[oid], axis=1), depth) for oid in ids]).T
                reduced, counts = runner.reduce(stacked)
                c0 = 0
                for oid in ids:
                    t, o = divmod(oid, cout)
                    lanes = tb[t + 1] - tb[t]
                    out[o, tb[t]:tb[t + 1]] = reduced[c0:c0 + lanes]
                    c0 += lanes
                cyc += _cycles(counts, prim)
            mismatched += int(cyc != fast_r[i])
            total_func += cyc
            total_fast += int(fast_r[i])
    ref = reference_conv(x, layer)
    err = int(np.abs(out - ref).max()) if out.size else 0
    return out, LayerCheck(layer.name, sum(len(p) for p in plan.phases), err == 0, total_func,
                           total_fast, mismatched, err)


def requantize(acc: np.ndarray, bits: int) -> np.ndarray:
    """Periphery: ReLU, then the smallest right shift that fits `bits` unsigned bits."""
    relu = np.maximum(acc, 0)
    top = int(relu.max()) if relu.size else 0
    shift = max(0, top.bit_length() - bits)
    return (relu >> shift).astype(np.int64)


def check_network(arch: Arch, net: Network, layers: int | None = None,
                  seed: int = 0) -> FunctionalReport:
    """Run the first `layers` layers (all if None) bit-exactly; chain outputs to inputs
    while shapes allow, else start the layer from fresh seeded random activations."""
    ops = subarray_op_costs(arch)
    rng = np.random.default_rng(seed)
    a = arch.datatypes.activation_bits
    report = FunctionalReport()
    x = None
    chosen = net.layers if layers is None else net.layers[:layers]
    for layer in chosen:
        shape = (layer.in_channels, *layer.in_hw)
        if x is None or x.shape != shape:
            x = rng.integers(0, 2 ** a, size=shape, dtype=np.int64)
        _check_width(layer, arch)
        density = np.count_nonzero(layer.weights) / layer.weight_count
        plan = plan_layer(layer, arch, ops, density)
        out, check = run_layer(layer, x, plan, arch, ops)
        report.layers.append(check)
        x = requantize(out, a).reshape(layer.out_channels, *layer.out_hw)
    return report


def _check_width(layer: ComputeLayer, arch: Arch) -> None:
    """The accumulator must hold the worst-case sum (a-bit unsigned x fan-in, signed)."""
    a, n = arch.datatypes.activation_bits, arch.datatypes.accumulator_bits
    worst = (2 ** a - 1) * layer.fan_in
    if worst >= 2 ** (n - 1):
        raise WorkloadError(f"layer {layer.name}: fan-in {layer.fan_in} of {a}-bit activations "
                            f"can overflow {n}-bit accumulators", source=arch.source,
                            key="datatypes.accumulator_bits")


class DigitalHook:
    """`graph_exec` linear hook running each quantized layer through the micro-programs.

    The layer's input must come from an unsigned quantizer (real = s (q - zp)) and its
    weights must be integer levels with per-channel scales; then
        y = s_w * s_x * (sum_f w_f q_f  -  zp * sum_f w_f),
    the first sum computed bit-serially in memory (lanes = every row of the batch), the
    zero-point term and the scaling in the periphery. Exact: equals the integer product.
    """

    def __init__(self, arch: Arch):
        ops = subarray_op_costs(arch)
        self.runner = ItemRunner(arch, geometry(arch, ops))
        self.bits = arch.datatypes.activation_bits

    def __call__(self, call) -> np.ndarray:
        xq, levels = call.x_quant, call.levels
        if xq is None or levels is None or call.scale is None:
            raise WorkloadError("the bit-serial path needs quantized weights and an input "
                                "from a quantizer", key=f"node {call.node.name}")
        scale = float(np.asarray(xq.scale).reshape(-1)[0])
        zp = float(np.asarray(xq.zero_point).reshape(-1)[0])
        q = np.rint(call.rows / scale + zp).astype(np.int64)
        if q.size and (q.min() < 0 or q.max() >= 2 ** self.bits):
            raise WorkloadError(f"inputs do not fit {self.bits}-bit unsigned activations",
                                key=f"node {call.node.name}")
        acc, _ = self.runner.segment(q, levels.astype(np.int64))
        sums = acc.T - zp * levels.sum(axis=1)[None, :]
        return sums * call.scale[None, :] * scale
