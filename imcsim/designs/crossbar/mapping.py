"""Weight-stationary crossbar mapping: layers cut into tiles, tiles into engine jobs.

A layer (per group) is a K x N matrix, K = fan_in, N = out_channels / groups. Each weight
becomes `slices` = ceil(weight_bits / slice_bits) slices of `cells_per_slice` cells
(reram/pcm: one multi-level cell of `bits_per_cell` bits; aid_sram: a word of N_b one-bit
cells), on two sides (G+, G-) when differential, plus one sign cell per weight when not:

    cols_per_out = slices * cells_per_slice * (2 if differential else 1) + (0 if diff else 1)

An output channel's columns stay in one tile, so a tile holds floor(cols / cols_per_out)
channels and the layer needs groups * ceil(K / rows) * ceil(N / channels_per_tile) tiles
(tile order: group, row block, column block).

Per output pixel and input step (input_steps = ceil(input_bits / dac_bits)) a tile reads its
rows_used rows, rows_per_read at a time (reads = ceil(rows_used / rows_per_read)); every
read gives conversions = channels * conv_per_out results (conv_per_out = slices, or
2 slices for a differential pair converted column by column), shared by the tile's
n_adc = ceil(cols / cols_per_adc) ADCs, which take serial = ceil(conversions / n_adc) turns
(columns are interleaved over the ADCs). In global cycles, with R = pixels * steps * reads:

    adc = serial * conversion_cycles
    sample-and-hold:  cycles = R * max(read, adc) + min(read, adc)   (read k+1 during conversion k)
    otherwise:        cycles = R * (read + adc)

A job is (tile, range of output pixels): [bus transfer (stream), compute] on `xbar.tileK`
and the shared `xbar.bus`; a reprogrammed tile first holds `program` cycles. Layers run one
after another (one engine phase each, batch 1; no pipelining across layers).

Placement (`crossbar.placement`): *resident* (auto, when all layers fit): each layer keeps
its tiles, programmed once before inference, and the spare tiles hold weight copies
(greedy: the next copy goes to the layer with the most cycles per copy that still fits),
the copies splitting the output pixels. *reload* (auto, when they do not fit): every layer
is written into the chip before it runs, on every inference, and its programming is
charged; it fills the chip with floor(tiles / n_l) copies, or, needing more tiles than the
chip has, runs in waves (tile-jobs dealt round-robin over the tiles). `replicate: false`
keeps one copy of each layer.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from imcsim.designs.crossbar.schema import CrossbarArch
from imcsim.designs.crossbar.technologies import array_technology
from imcsim.engine.types import (
    BUS as BUS_ROLE,
)
from imcsim.engine.types import (
    COMPUTE,
    STEP_COMPUTE,
    STEP_PROGRAM,
    STEP_TRANSFER,
    Phase,
    Resource,
    Step,
)
from imcsim.tech.reram import bit_slices
from imcsim.units import ceil_cycles_array
from imcsim.workload.layer import ComputeLayer

BUS = "xbar.bus"


def tile_name(k: int) -> str:
    return f"xbar.tile{k}"


def resources(tiles: int, cols: int) -> list[Resource]:
    """The tiles (compute units whose lanes are their columns), then the shared bus."""
    return [Resource(tile_name(k), COMPUTE, cols, "crossbar") for k in range(tiles)] + [
        Resource(BUS, BUS_ROLE, 1, "crossbar")]


@dataclass(frozen=True)
class ArrayShape:
    """How weights and inputs land on one tile (module docstring)."""

    tiles: int
    rows: int
    cols: int
    weight_bits: int
    slice_bits: int
    cells_per_slice: int
    differential: bool
    pair_subtraction: bool
    input_steps: int
    rows_per_read: int
    n_adc: int

    @classmethod
    def from_arch(cls, arch: CrossbarArch) -> ArrayShape:
        xb = arch.crossbar
        tech = array_technology(xb.technology)
        return cls(tiles=xb.tiles, rows=xb.rows, cols=xb.cols, weight_bits=tech.weight_bits(xb),
                   slice_bits=tech.slice_bits(xb), cells_per_slice=tech.cells_per_slice(xb),
                   differential=xb.differential, pair_subtraction=xb.pair_subtraction,
                   input_steps=-(-xb.input_bits // tech.dac_bits(xb)),
                   rows_per_read=tech.rows_per_read(xb),
                   n_adc=-(-xb.cols // xb.cols_per_adc))

    @property
    def slices(self) -> int:
        return -(-self.weight_bits // self.slice_bits)

    @property
    def cols_per_out(self) -> int:
        sides = 2 if self.differential else 1
        return self.slices * self.cells_per_slice * sides + (0 if self.differential else 1)

    @property
    def conv_per_out(self) -> int:
        both = self.differential and not self.pair_subtraction
        return self.slices * (2 if both else 1)

    @property
    def channels_per_tile(self) -> int:
        return self.cols // self.cols_per_out


@dataclass
class LayerTiles:
    """The tiles of one layer (one copy), as arrays over tiles in tile order."""

    groups: int
    row_tiles: int
    col_tiles: int
    rows_used: np.ndarray  # (n,) rows holding weights
    channels: np.ndarray  # (n,) output channels held
    reads: np.ndarray  # (n,) reads per pixel and input step
    conversions: np.ndarray  # (n,) ADC results per read
    serial: np.ndarray  # (n,) conversion turns of one ADC per read

    @property
    def count(self) -> int:
        return int(self.rows_used.size)


def tile_layer(layer: ComputeLayer, shape: ArrayShape) -> LayerTiles:
    k, n = layer.fan_in, layer.out_channels // layer.groups
    cpt = shape.channels_per_tile
    rt, ct = -(-k // shape.rows), -(-n // cpt)
    rows_r = np.minimum(shape.rows, k - shape.rows * np.arange(rt))
    ch_c = np.minimum(cpt, n - cpt * np.arange(ct))
    rows_used = np.tile(np.repeat(rows_r, ct), layer.groups).astype(np.int64)
    channels = np.tile(np.tile(ch_c, rt), layer.groups).astype(np.int64)
    conversions = channels * shape.conv_per_out
    return LayerTiles(groups=layer.groups, row_tiles=int(rt), col_tiles=int(ct),
                      rows_used=rows_used, channels=channels,
                      reads=-(-rows_used // shape.rows_per_read), conversions=conversions,
                      serial=-(-conversions // shape.n_adc))


@dataclass
class StoredWeights:
    """What a layer's cells hold, per weight: the sum of its slice values, and the total
    number of one bits over all its slices (for discharge arrays)."""

    slice_sums: np.ndarray  # (groups, N_g, K) sum over slices of the slice values
    ones: int


def stored_weights(layer: ComputeLayer, shape: ArrayShape) -> StoredWeights:
    """Slices of the stored magnitudes, through lookup tables over the layer's levels.

    The layer's integer levels are scaled to the stored range, q = round(|w| (2^B - 1) /
    max|w|) with B = weight_bits (the largest weight uses the full range; ternary weights
    become 0 or 2^B - 1), then split into slices of slice_bits bits (tech.reram.bit_slices).
    """
    mag = np.abs(layer.weights.astype(np.int16))
    top = int(mag.max()) if mag.size else 0
    levels = np.arange(top + 1)
    q = np.rint(levels * ((2 ** shape.weight_bits - 1) / top)).astype(np.int64) if top else levels
    sl = bit_slices(q, shape.slices * shape.slice_bits, shape.slice_bits)  # (slices, levels)
    sums = sl.sum(axis=0).astype(np.float64)
    ones = np.bitwise_count(sl).sum(axis=0)
    flat = mag.reshape(-1)
    g, n = layer.groups, layer.out_channels // layer.groups
    return StoredWeights(slice_sums=sums[flat].reshape(g, n, layer.fan_in),
                         ones=int((np.bincount(flat, minlength=top + 1) * ones).sum()))


def tile_conductance_us(stored: StoredWeights, tiles: LayerTiles, shape: ArrayShape,
                        g_min_us: float, g_max_us: float) -> np.ndarray:
    """Sum of the conductances (uS) on the driven rows of each tile (differential pairs).

    A slice value v sits on its sign's side as G_min + (G_max - G_min) v / (2^b - 1), the
    other side at G_min; the columns of a driven row that hold no weight sit at G_min.
    """
    levels = 2 ** shape.slice_bits - 1
    per_weight = (stored.slice_sums * ((g_max_us - g_min_us) / levels)
                  + 2 * shape.slices * g_min_us)  # (groups, N_g, K)
    n, k = per_weight.shape[1:]
    r0 = np.arange(0, k, shape.rows)
    c0 = np.arange(0, n, shape.channels_per_tile)
    blocks = np.add.reduceat(np.add.reduceat(per_weight, r0, axis=2), c0, axis=1)
    empty = tiles.rows_used * (shape.cols - tiles.channels * shape.cols_per_out) * g_min_us
    return blocks.transpose(0, 2, 1).reshape(-1) + empty


@dataclass(frozen=True)
class ReadTiming:
    """Global cycles of one read and of one conversion (module docstring)."""

    read_cycles: int
    conversion_cycles: int
    sample_and_hold: bool

    def adc_cycles(self, serial: np.ndarray) -> np.ndarray:
        return serial * self.conversion_cycles

    def job_cycles(self, pixels: np.ndarray, steps: int, tiles: LayerTiles) -> np.ndarray:
        """Cycles of each tile processing `pixels` output pixels (arrays broadcast)."""
        reads = pixels * steps * tiles.reads
        adc = self.adc_cycles(tiles.serial)
        if self.sample_and_hold:
            cyc = reads * np.maximum(self.read_cycles, adc) + np.minimum(self.read_cycles, adc)
        else:
            cyc = reads * (self.read_cycles + adc)
        return np.where(reads > 0, cyc, 0).astype(np.int64)


def replicate(tiles_needed: list[int], single_cycles: list[int], pixels: list[int],
              spare: int) -> list[int]:
    """Copies per layer: greedily give the next copy to the layer with the most cycles per
    copy among those whose tile count still fits in the spare tiles."""
    copies = [1] * len(tiles_needed)
    heap: list[tuple[float, int]] = [(-c, i) for i, c in enumerate(single_cycles) if c > 0]
    heapq.heapify(heap)
    while heap and spare > 0:
        _, i = heapq.heappop(heap)
        if tiles_needed[i] > spare or copies[i] >= pixels[i]:
            continue
        copies[i] += 1
        spare -= tiles_needed[i]
        heapq.heappush(heap, (-single_cycles[i] / copies[i], i))
    return copies


def layer_copies(tiles: list[LayerTiles], pixels: list[int], timing: ReadTiming,
                 shape: ArrayShape, resident: bool, spread: bool) -> list[int]:
    """Weight copies per layer (module docstring); all ones unless `spread`."""
    if not spread:
        return [1] * len(tiles)
    if not resident:
        return [max(1, min(shape.tiles // t.count, p)) for t, p in zip(tiles, pixels, strict=True)]
    needed = [t.count for t in tiles]
    single = [int(timing.job_cycles(np.array(p), shape.input_steps, t).max())
              for p, t in zip(pixels, tiles, strict=True)]
    return replicate(needed, single, pixels, shape.tiles - sum(needed))


def pixel_split(pixels: int, copies: int) -> np.ndarray:
    """Output pixels of each copy: as equal as possible, larger first."""
    base, extra = divmod(pixels, copies)
    return base + (np.arange(copies) < extra)


@dataclass
class LayerJobs:
    """The jobs of one layer and the cycles they hold."""

    phase: Phase
    compute_cycles: np.ndarray  # per job
    program_cycles: np.ndarray  # per job (0 when resident)
    bus_cycles: np.ndarray  # per job
    tiles_used: int


def layer_jobs(layer_index: int, name: str, tiles: LayerTiles, timing: ReadTiming,
               shape: ArrayShape, pixels: int, copies: int, first_tile: int,
               program_cycles: np.ndarray | None, bus_bits_per_pixel: np.ndarray,
               bus_bits_per_cycle: float) -> LayerJobs:
    """Jobs (tile, pixel range) of a layer. Resident (program_cycles None): copy j of the
    layer sits on tiles first_tile + j * n ...; reprogrammed: tile-jobs dealt round-robin
    over all tiles, each first holding its programming cycles."""
    n = tiles.count
    px = np.repeat(pixel_split(pixels, copies), n)  # job order: copy, tile
    tile_of = np.tile(np.arange(n), copies)
    compute = timing.job_cycles(px, shape.input_steps, _take(tiles, tile_of))
    bus = ceil_cycles_array(px * bus_bits_per_pixel[tile_of] / bus_bits_per_cycle)
    lanes = tiles.channels[tile_of] * shape.cols_per_out  # the columns a job keeps busy
    if program_cycles is None:
        where = first_tile + np.arange(n * copies)
        prog = np.zeros(n * copies, dtype=np.int64)
    else:
        where = np.arange(n * copies) % shape.tiles
        prog = program_cycles[tile_of]
    queues: dict[str, list[list[Step]]] = {}
    for j in range(n * copies):
        res = tile_name(int(where[j]))
        task = [Step(res, int(prog[j]), STEP_PROGRAM),
                Step(BUS, int(bus[j]), STEP_TRANSFER, overlap=True),
                Step(res, int(compute[j]), STEP_COMPUTE, lanes=int(lanes[j]))]
        queues.setdefault(res, []).append(task)
    return LayerJobs(Phase(name, layer_index, queues), compute, prog, bus,
                     tiles_used=min(n * copies, shape.tiles))


def _take(tiles: LayerTiles, idx: np.ndarray) -> LayerTiles:
    return LayerTiles(tiles.groups, tiles.row_tiles, tiles.col_tiles, tiles.rows_used[idx],
                      tiles.channels[idx], tiles.reads[idx], tiles.conversions[idx],
                      tiles.serial[idx])
