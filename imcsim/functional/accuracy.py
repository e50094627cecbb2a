"""Accuracy of a network graph on a labelled set, through any linear hook."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imcsim.functional.graph_exec import LinearHook, MatmulHook, run_graph
from imcsim.workload.graph import Graph


@dataclass(frozen=True)
class Accuracy:
    correct: int
    samples: int

    @property
    def value(self) -> float:
        return self.correct / self.samples if self.samples else 0.0


def predict(graph: Graph, images: np.ndarray, hook: LinearHook | None = None,
            batch: int = 512, matmul: MatmulHook | None = None) -> np.ndarray:
    """Arg-max class of each image (images shaped as the graph input, batch first)."""
    name, out = graph.inputs[0].name, graph.outputs[0]
    preds = []
    for start in range(0, len(images), batch):
        env = run_graph(graph, {name: images[start:start + batch]}, hook, matmul=matmul)
        preds.append(np.argmax(env[out].reshape(len(images[start:start + batch]), -1), axis=1))
    return np.concatenate(preds) if preds else np.zeros(0, dtype=np.int64)


def accuracy(graph: Graph, images: np.ndarray, labels: np.ndarray,
             hook: LinearHook | None = None, matmul: MatmulHook | None = None) -> Accuracy:
    pred = predict(graph, images, hook, matmul=matmul)
    return Accuracy(int(np.count_nonzero(pred == labels)), len(labels))
