"""LSTM, GRU and RNN nodes (ONNX semantics, opset 7 to 22): what they read, their output
shapes, their weight MACs and the elementwise work of their gates.

A node runs `seq` time steps over `batch` sequences in each of its `directions` (1, or 2
when bidirectional); with H = hidden_size, I = input_size and G gates (LSTM 4: i, o, f,
c; GRU 3: z, r, h; RNN 1), each step of each direction computes the gate
pre-activations

    X_t W^T  (W: [G*H, I], the input weights)   +   H_{t-1} R^T  (R: [G*H, H], recurrent)

(a GRU without linear_before_reset multiplies R_h by r (.) H_{t-1} instead, the same
number of products), so

    weight MACs = seq x batch x directions x G x H x (I + H).

The products with W do not depend on each other: they are one weight layer over seq x
batch rows, as a Linear on [batch, seq, I]. The products with R are sequential: step t
needs H_{t-1} (see `lower` for how both are lowered).

Elementwise work per step, batch row and direction, in H-element vector operations
("[B]" when the bias input is given: Wb + Rb is one constant added per gate element;
"[P]" with LSTM peepholes; "[clip]" with the clip attribute, clipping every gate input):

* LSTM: gate sums 4 + 4[B] + peepholes 6[P] (3 products, 3 sums) + clip 4[clip], the
  cell C = f (.) C + i (.) c~ (2 products, 1 sum) and H = o (.) h(C) (1 product): 8 + 4[B]
  + 6[P] + 4[clip]; activations f on 3 (i, f, o), g on 1 (c~), h on 1 (C);
* GRU: gate sums 3 + 3[B] (4[B] with linear_before_reset: Rb_h is added before the
  product with r, Wb_h after), the product with r 1, clip 3[clip], H = (1 - z) (.) h~ +
  z (.) H_{t-1} (1 difference, 2 products, 1 sum): 8 + 3[B] (or 4[B]) + 3[clip];
  activations f on 2 (z, r), g on 1 (h~);
* RNN: 1 + 1[B] + 1[clip]; activation f on 1.

`gate_work` gives those counts times seq x batch x directions x H: the arithmetic as one
count and each activation function's evaluations by its name (Sigmoid, Tanh, ...).
`input_forget` = 1 is refused (no exporter writes it and the spec leaves it undefined).
"""

from __future__ import annotations

from dataclasses import dataclass

from imcsim.errors import WorkloadError
from imcsim.workload.graph import Graph, Node, Shape, node_key

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
ACTIVATIONS_PER_DIRECTION = {"LSTM": 3, "GRU": 2, "RNN": 1}
DEFAULT_ACTIVATIONS = {"LSTM": ("Sigmoid", "Tanh", "Tanh"), "GRU": ("Sigmoid", "Tanh"),
                       "RNN": ("Tanh",)}
FUNCTIONS = ("Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu", "ThresholdedRelu",
             "ScaledTanh", "HardSigmoid", "Elu", "Softsign", "Softplus")
# inputs: X, W, R, B, sequence_lens, initial_h (and LSTM: initial_c, P)
MAX_INPUTS = {"LSTM": 8, "GRU": 6, "RNN": 6}
OUTPUTS = {"LSTM": 3, "GRU": 2, "RNN": 2}


@dataclass(frozen=True)
class Recurrent:
    """The resolved sizes and settings of one recurrent node."""

    op: str
    seq: int
    batch: int
    inputs: int  # I
    hidden: int  # H
    directions: int
    direction: str  # forward | reverse | bidirectional
    layout: int  # 0: X [seq, batch, I]; 1: [batch, seq, I]
    activations: tuple[str, ...]  # per direction, ACTIVATIONS_PER_DIRECTION[op] each
    clip: float | None
    bias: bool
    peepholes: bool
    linear_before_reset: bool

    @property
    def gates(self) -> int:
        return GATES[self.op]

    @property
    def rows(self) -> int:
        """Input rows of the W products: seq x batch."""
        return self.seq * self.batch

    @property
    def steps(self) -> int:
        """(time step, sequence, direction) triples: the gate vectors computed."""
        return self.seq * self.batch * self.directions

    def weight_macs(self) -> int:
        """seq x batch x directions x G x H x (I + H)."""
        return self.steps * self.gates * self.hidden * (self.inputs + self.hidden)

    def arithmetic_per_step(self) -> int:
        """H-vector additions and products per step (see the module docstring)."""
        b, c = int(self.bias), int(self.clip is not None)
        if self.op == "LSTM":
            return 8 + 4 * b + 6 * int(self.peepholes) + 4 * c
        if self.op == "GRU":
            return 8 + (4 if self.linear_before_reset else 3) * b + 3 * c
        return 1 + b + c

    def function_uses(self) -> dict[str, int]:
        """H-vector evaluations per activation function name, over all directions."""
        per = {"LSTM": (3, 1, 1), "GRU": (2, 1), "RNN": (1,)}[self.op]
        uses: dict[str, int] = {}
        k = len(per)
        for d in range(self.directions):
            for name, n in zip(self.activations[d * k:(d + 1) * k], per, strict=True):
                uses[name] = uses.get(name, 0) + n
        return uses


def gate_work(spec: Recurrent) -> list[tuple[str, int]]:
    """(what, elements) of the gate work: ("arithmetic", sums and products), then one
    entry per activation function name with its evaluations (elements = scalar
    operations over the whole node)."""
    per_row = spec.seq * spec.batch * spec.hidden
    out = [("arithmetic", per_row * spec.directions * spec.arithmetic_per_step())]
    out += [(name, per_row * n) for name, n in spec.function_uses().items()]
    return out


def _err(node: Node, src: str, msg: str) -> WorkloadError:
    return WorkloadError(msg, source=src, key=node_key(node))


def _activations(node: Node, directions: int, src: str) -> tuple[str, ...]:
    k = ACTIVATIONS_PER_DIRECTION[node.op]
    given = node.attrs.get("activations")
    names = list(DEFAULT_ACTIVATIONS[node.op]) if not given else [str(a) for a in given]
    canonical = {f.lower(): f for f in FUNCTIONS}
    if any(n.lower() not in canonical for n in names):
        raise _err(node, src, f"activations {names}: supported are {', '.join(FUNCTIONS)}")
    names = [canonical[n.lower()] for n in names]
    if len(names) == k and directions == 2:
        names = names * 2  # the same functions for both directions
    if len(names) != k * directions:
        raise _err(node, src, f"activations {names} must name {k * directions} functions "
                              f"({k} per direction)")
    return tuple(names)


def recurrent_spec(node: Node, s: list[Shape | None], src: str) -> Recurrent:
    """Resolve `node` from its input shapes (None: an omitted input); a WorkloadError
    naming the node for shapes or settings the spec does not allow."""
    op = node.op
    x, w, r = s[0], s[1], s[2]
    assert x is not None and w is not None and r is not None  # required (infer_node)
    direction = str(node.attrs.get("direction", "forward"))
    if direction not in ("forward", "reverse", "bidirectional"):
        raise _err(node, src, f"unknown direction {direction!r}")
    dirs = 2 if direction == "bidirectional" else 1
    layout = int(node.attrs.get("layout", 0))
    if layout not in (0, 1) or len(x) != 3:
        raise _err(node, src, f"X must be rank 3 with layout 0 or 1, got {list(x)}, layout "
                              f"{layout}")
    if int(node.attrs.get("input_forget", 0)):
        raise _err(node, src, "input_forget=1 is not supported")
    seq, batch = (x[0], x[1]) if layout == 0 else (x[1], x[0])
    g = GATES[op]
    hidden = int(node.attrs.get("hidden_size", r[-1] if len(r) == 3 else 0))
    want = {"W": (dirs, g * hidden, x[2]), "R": (dirs, g * hidden, hidden),
            "B": (dirs, 2 * g * hidden), "sequence_lens": (batch,),
            "initial_h": (dirs, batch, hidden) if layout == 0 else (batch, dirs, hidden),
            "initial_c": (dirs, batch, hidden) if layout == 0 else (batch, dirs, hidden),
            "P": (dirs, 3 * hidden)}
    for name, got in zip(("W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"),
                         s[1:], strict=False):
        if got is not None and tuple(got) != want[name]:
            raise _err(node, src, f"{name} has shape {list(got)}, expected "
                                  f"{list(want[name])} (direction {direction}, "
                                  f"hidden_size {hidden}, X {list(x)}, layout {layout})")
    if hidden < 1:
        raise _err(node, src, f"hidden_size must be positive, got {hidden}")
    clip = node.attrs.get("clip")
    return Recurrent(op, seq, batch, x[2], hidden, dirs, direction, layout,
                     _activations(node, dirs, src), None if clip is None else float(clip),
                     len(s) > 3 and s[3] is not None,
                     op == "LSTM" and len(s) > 7 and s[7] is not None,
                     bool(int(node.attrs.get("linear_before_reset", 0))))


def recurrent_shape(node: Node, s: list[Shape | None], src: str, _g: Graph) -> list[Shape]:
    """Y [seq, dirs, batch, H] (layout 1: [batch, seq, dirs, H]), Y_h and (LSTM) Y_c
    [dirs, batch, H] (layout 1: [batch, dirs, H]), for the outputs the node has."""
    spec = recurrent_spec(node, s, src)
    if len(node.outputs) > OUTPUTS[node.op]:
        raise _err(node, src, f"has {len(node.outputs)} outputs, at most "
                              f"{OUTPUTS[node.op]}")
    d, b, h = spec.directions, spec.batch, spec.hidden
    if spec.layout == 0:
        y, state = (spec.seq, d, b, h), (d, b, h)
    else:
        y, state = (b, spec.seq, d, h), (b, d, h)
    return [y, state, state][:len(node.outputs)]
