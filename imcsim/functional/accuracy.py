"""Accuracy of a network graph on a labelled set, through any linear hook; with noisy
hooks, optionally a majority vote over K repeated inferences."""

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


def majority(votes: np.ndarray) -> np.ndarray:
    """Per column of `votes` (K inferences x N inputs, class indices), the class given
    most often; a tie goes to the smallest class index among the tied."""
    k, n = votes.shape
    counts = np.zeros((n, int(votes.max(initial=0)) + 1), dtype=np.int64)
    np.add.at(counts, (np.broadcast_to(np.arange(n), (k, n)), votes), 1)
    return np.argmax(counts, axis=1)


def predict_voted(graph: Graph, images: np.ndarray, hook: LinearHook | None = None,
                  votes: int = 1, matmul: MatmulHook | None = None) -> np.ndarray:
    """The majority class over `votes` inferences of every image, one after another
    through the same hook (its programmed devices kept, its noise drawn afresh)."""
    runs = [predict(graph, images, hook, matmul=matmul) for _ in range(votes)]
    return runs[0] if votes == 1 else majority(np.stack(runs))


def accuracy(graph: Graph, images: np.ndarray, labels: np.ndarray,
             hook: LinearHook | None = None, matmul: MatmulHook | None = None,
             votes: int = 1) -> Accuracy:
    pred = predict_voted(graph, images, hook, votes, matmul=matmul)
    return Accuracy(int(np.count_nonzero(pred == labels)), len(labels))
