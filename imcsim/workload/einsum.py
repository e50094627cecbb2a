"""Einsum when it is a matrix product: parsing, shape, MACs and the weight-layer view.

An equation with two operands is a (batched) matrix product when every index is one of

* batch: in both operands and the output;
* free: in one operand and the output (M of the first, N of the second);
* contracted (K): in both operands, not in the output -- at least one;

("bij,bjk->bik", "bhqd,bhkd->bhqk", "ij,jk->ik", "...ij,jk->...ik", implicit outputs
as "ij,jk" too). Its MACs are the product of every index's size (batch x M x N x K; an
ellipsis broadcasts as numpy does, each broadcast product counted). With one constant
rank-2 operand holding one contracted and one free index it is a weight layer (a Linear
over the other operand's rows, `WeightView`); two activations are activation x
activation MACs (attention). Any other equation (one or three operands, a diagonal, an
index summed inside one operand, an outer or elementwise product) is refused with one
line naming the node and the equation.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass

from imcsim.errors import WorkloadError
from imcsim.workload.graph import Graph, Node, Shape, node_key


@dataclass(frozen=True)
class Contraction:
    """A parsed matrix-product equation: index letters of both operands (an ellipsis
    spelled out as letters) and of the output, and every index's size."""

    equation: str
    operands: tuple[str, str]
    output: str
    sizes: dict[str, int]

    @property
    def contracted(self) -> str:
        a, b = self.operands
        return "".join(c for c in a if c in b and c not in self.output)

    @property
    def macs(self) -> int:
        """Product of every index's size: batch x M x N x K."""
        return math.prod(self.sizes.values())

    @property
    def out_shape(self) -> Shape:
        return tuple(self.sizes[c] for c in self.output)


@dataclass(frozen=True)
class WeightView:
    """Einsum as a weight layer: operand `weight` (the constant, stored [K, N] when
    `k_first`, else [N, K]) times the other operand's rows."""

    weight: int  # 0 or 1: which input is the constant
    k_first: bool
    in_features: int  # K
    out_features: int  # N
    rows: int  # product of the activation operand's other dimensions


def _refuse(node: Node, src: str, equation: str, why: str) -> WorkloadError:
    return WorkloadError(f"Einsum equation {equation!r} is not a matrix product: {why}",
                         source=src, key=node_key(node))


def _terms(node: Node, equation: str, ranks: list[int], src: str
           ) -> tuple[list[str], str | None, int]:
    """Operand terms with '...' replaced by placeholder '.' per dim (right-aligned), the
    output term (None: implicit) and the ellipsis rank."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != 2 or len(ranks) != 2:
        raise _refuse(node, src, equation, f"{len(terms)} operand(s), a matrix product "
                                           f"has 2")
    allowed = set(string.ascii_letters)
    ell = 0
    for term, rank in zip(terms, ranks, strict=True):
        letters = term.replace("...", "")
        if term.count("...") > 1 or set(letters) - allowed:
            raise _refuse(node, src, equation, f"bad term {term!r}")
        dims = rank - len(letters)
        if dims < 0 or (dims and "..." not in term):
            raise _refuse(node, src, equation, f"term {term!r} does not fit an operand of "
                                               f"rank {rank}")
        ell = max(ell, dims)
    if arrow and (rhs.count("...") > 1 or set(rhs.replace("...", "")) - allowed):
        raise _refuse(node, src, equation, f"bad output {rhs!r}")
    return terms, rhs if arrow else None, ell


def parse(node: Node, shapes: list[Shape], src: str) -> Contraction:
    """The Contraction of Einsum `node` on operands of `shapes`, or a WorkloadError
    naming the node and its equation."""
    equation = str(node.attrs.get("equation", ""))
    terms, rhs, ell = _terms(node, equation, [len(s) for s in shapes], src)
    spare = [c for c in string.ascii_letters if c not in equation][::-1]
    ell_letters = "".join(spare.pop() for _ in range(ell))
    sizes: dict[str, int] = {}
    operands = []
    for term, shape in zip(terms, shapes, strict=True):
        head, _, tail = term.partition("...")
        n = len(shape) - len(head) - len(tail) if "..." in term else 0
        letters = head + ell_letters[ell - n:] + tail if "..." in term else term
        if len(set(letters)) < len(letters):
            raise _refuse(node, src, equation, f"an index repeats within {term!r} (a "
                                               f"diagonal)")
        for c, d in zip(letters, shape, strict=True):
            old = sizes.get(c)
            if old is not None and old != d and c not in ell_letters:
                raise _refuse(node, src, equation, f"index {c} is {old} in one operand "
                                                   f"and {d} in the other")
            if c in ell_letters and old is not None and 1 not in (old, d) and old != d:
                raise _refuse(node, src, equation, f"ellipsis dimensions {old} and {d} "
                                                   f"do not broadcast")
            sizes[c] = max(d, old or 0) if c in ell_letters else d
        operands.append(letters)
    a, b = operands
    if rhs is None:  # implicit output: the ellipsis, then indices used once, sorted
        once = sorted(c for c in set(a + b) if (a + b).count(c) == 1 and c not in ell_letters)
        output = ell_letters + "".join(once)
    else:
        output = rhs.replace("...", ell_letters)
    if len(set(output)) < len(output) or set(output) - set(a + b):
        raise _refuse(node, src, equation, "the output repeats an index or names one no "
                                           "operand has")
    summed = [c for c in a + b if c not in output and (c not in a or c not in b)]
    if summed:
        raise _refuse(node, src, equation, f"index {summed[0]} is summed inside one operand")
    result = Contraction(equation, (a, b), output, sizes)
    if not result.contracted:
        raise _refuse(node, src, equation, "no index is contracted (an outer or "
                                           "elementwise product)")
    return result


def weight_view(node: Node, c: Contraction, constant: tuple[bool, bool], src: str
                ) -> WeightView | None:
    """The weight-layer view when exactly one operand is constant (None for two
    activations); a WorkloadError naming the node and equation when the constant is not
    a rank-2 [K, N] or [N, K] weight."""
    if constant[0] == constant[1]:
        return None
    w = 0 if constant[0] else 1
    letters, other = c.operands[w], c.operands[1 - w]
    k = [x for x in letters if x in c.contracted]
    free = [x for x in letters if x in c.output and x not in other]
    if len(letters) != 2 or len(k) != 1 or len(free) != 1:
        raise WorkloadError(f"Einsum equation {c.equation!r}: a constant operand must be "
                            f"a rank-2 weight with one contracted and one output index "
                            f"(got {letters!r})", source=src, key=node_key(node))
    rows = math.prod(c.sizes[x] for x in other if x != k[0])
    return WeightView(w, letters[0] == k[0], c.sizes[k[0]], c.sizes[free[0]], rows)


def einsum_shape(node: Node, s: list[Shape], src: str, g: Graph) -> Shape:
    """Shape function of Einsum (matrix products only, see the module docstring)."""
    c = parse(node, s, src)
    weight_view(node, c, (g.weight(node.input(0)) is not None,
                          g.weight(node.input(1)) is not None), src)
    return c.out_shape
