"""How much of each class of vector-unit work a graph node takes, per element of its
`OpWork.elements` (per MAC for an activation x activation matmul).

Classes (`schema.WORK_CLASSES`): elementwise (add, multiply, compare, ReLU), special
(exp, erf, tanh, sigmoid, sqrt, reciprocal: a piecewise polynomial or table), reduction
(one element folded into a sum or maximum), data (one element moved), mac. Ops not in
`OP_WORK` take one element of the class of their kind. The decompositions:

* Softmax: max (reduction), subtract (elementwise), exp (special), sum (reduction),
  scale by the reciprocal (elementwise): 2 reduction + 2 elementwise + 1 special;
* LayerNormalization: mean and variance (2 reduction), subtract, square, scale, shift
  (4 elementwise); the per-row rsqrt is negligible;
* Gelu (erf or tanh form): 1 special + 3 elementwise; Erf, Exp, Tanh, Sigmoid, Sqrt,
  Reciprocal, Log: 1 special; Div: 1 special (a reciprocal) + 1 elementwise;
* HardSwish, HardSigmoid: 3 elementwise (piecewise linear).
"""

from __future__ import annotations

from imcsim.workload.op_kinds import ACTIVATION, DATA, ELEMENTWISE, REDUCTION, OpWork

OP_WORK: dict[str, dict[str, float]] = {
    "Softmax": {"reduction": 2, "elementwise": 2, "special": 1},
    "LogSoftmax": {"reduction": 2, "elementwise": 2, "special": 2},
    "LayerNormalization": {"reduction": 2, "elementwise": 4},
    "Gelu": {"special": 1, "elementwise": 3},
    "Erf": {"special": 1}, "Exp": {"special": 1}, "Tanh": {"special": 1},
    "Sigmoid": {"special": 1}, "Sqrt": {"special": 1}, "Reciprocal": {"special": 1},
    "Log": {"special": 1}, "Div": {"special": 1, "elementwise": 1},
    "HardSwish": {"elementwise": 3}, "HardSigmoid": {"elementwise": 3},
}
BY_KIND = {ELEMENTWISE: "elementwise", REDUCTION: "reduction", DATA: "data",
           ACTIVATION: "mac"}


def class_counts(work: OpWork, batch: int = 1) -> dict[str, float]:
    """Elements (MACs for an activation matmul) of each work class of one node."""
    if work.kind == ACTIVATION:
        return {"mac": float(work.macs * batch)}
    per = OP_WORK.get(work.op, {BY_KIND[work.kind]: 1.0})
    return {cls: n * work.elements * batch for cls, n in per.items()}


def moved_elements(work: OpWork, batch: int = 1) -> int:
    """Elements carried between the buffer and the unit: its output and an input of the
    same size (an attention matmul's two operands counted as that too; first order)."""
    return 2 * work.elements * batch
