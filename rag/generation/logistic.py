"""A logistic regression in plain numpy: fitted offline, stored as numbers in the code.

``fit`` (Newton's method with an L2 penalty, soft labels allowed) is used by
``eval/fit_reader.py`` on the shared dev set; at run time only
``LogisticModel.probability`` runs, so no learning library is a dependency.
Features are standardised with the mean and scale seen in training, so the
weights are comparable with each other. Regularisation paths and other
solvers are left out.

>>> m = LogisticModel(("x",), mean=(0.0,), scale=(1.0,), weights=(2.0,), bias=0.0)
>>> round(float(m.probability(np.array([[0.0]]))[0]), 2)
0.5
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Sequence

import numpy as np

NAMES_WIDTH = 96


@dataclass(frozen=True)
class LogisticModel:
    """``sigmoid(bias + weights . (x - mean) / scale)`` over named features."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    def logit(self, features: np.ndarray) -> np.ndarray:
        """Log-odds for rows of ``features`` (columns in the order of ``names``)."""
        x = (np.asarray(features, dtype=np.float64) - np.array(self.mean)) / np.array(self.scale)
        return x @ np.array(self.weights) + self.bias

    def probability(self, features: np.ndarray) -> np.ndarray:
        return sigmoid(self.logit(features))

    def describe(self) -> str:
        """Weights as Python source, for pasting into rag/generation/weights.py."""
        def floats(xs: Sequence[float]) -> str:
            return "(" + ", ".join(f"{x:.4f}" for x in xs) + ("," if len(xs) == 1 else "") + ")"

        names = repr(self.names)
        if len(names) > NAMES_WIDTH:  # one short line each, so the generated file stays within 120 columns
            lines = textwrap.wrap(", ".join(map(repr, self.names)) + ",", NAMES_WIDTH)
            names = "(\n" + "".join(f"        {line}\n" for line in lines) + "    )"
        return (
            f"LogisticModel(\n    names={names},\n    mean={floats(self.mean)},\n"
            f"    scale={floats(self.scale)},\n    weights={floats(self.weights)},\n    bias={self.bias:.4f},\n)"
        )


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


def fit(
    names: Sequence[str], features: np.ndarray, labels: np.ndarray, l2: float = 1.0,
    sample_weight: np.ndarray | None = None, iterations: int = 50,
) -> LogisticModel:
    """Maximum-likelihood weights with an L2 penalty ``l2 * |w|^2 / 2`` (bias not penalised).

    ``labels`` may be soft (between 0 and 1), e.g. the token F1 of a candidate span.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    w_rows = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    beta = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(iterations):
        p = sigmoid(z @ beta)
        gradient = z.T @ (w_rows * (p - y)) + penalty * beta
        hessian = (z * (w_rows * p * (1 - p))[:, None]).T @ z + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return LogisticModel(
        tuple(names), tuple(float(v) for v in mean), tuple(float(v) for v in scale),
        tuple(float(v) for v in beta[1:]), float(beta[0]),
    )


def fit_ranker(
    names: Sequence[str], groups: Sequence[np.ndarray], targets: Sequence[np.ndarray], l2: float = 1.0,
    iterations: int = 50,
) -> LogisticModel:
    """Conditional logit: weights under which each group's target rows win the softmax.

    ``groups[q]`` holds the feature rows of question ``q``'s candidates and
    ``targets[q]`` their (soft) correctness; groups with no positive target are
    skipped. The bias cancels in a softmax; it is left at 0.
    """
    kept = [
        (np.asarray(x, dtype=np.float64), np.asarray(t, dtype=np.float64))
        for x, t in zip(groups, targets, strict=True)
    ]
    kept = [(x, t / t.sum()) for x, t in kept if len(t) and t.sum() > 0]
    stacked = np.vstack([x for x, _ in kept])
    mean = stacked.mean(axis=0)
    scale = stacked.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = [((x - mean) / scale, t) for x, t in kept]

    def loss(b: np.ndarray) -> float:
        total = 0.5 * l2 * float(b @ b)
        for x, t in z:
            s = x @ b
            total += float(s.max() + np.log(np.exp(s - s.max()).sum()) - t @ s)
        return total

    beta = np.zeros(len(mean))
    current = loss(beta)
    for _ in range(iterations):
        gradient = l2 * beta
        hessian = np.diag(np.full(len(beta), l2 + 1e-9))
        for x, t in z:
            s = x @ beta
            p = np.exp(s - s.max())
            p /= p.sum()
            gradient += x.T @ (p - t)
            weighted = x * p[:, None]
            hessian += x.T @ weighted - np.outer(weighted.sum(0), weighted.sum(0))
        step = np.linalg.solve(hessian, gradient)
        size = 1.0
        while size > 1e-4 and loss(beta - size * step) > current:
            size /= 2  # backtrack: a full Newton step can overshoot far from the optimum
        beta -= size * step
        previous, current = current, loss(beta)
        if previous - current < 1e-10:
            break
    return LogisticModel(
        tuple(names), tuple(float(v) for v in mean), tuple(float(v) for v in scale),
        tuple(float(v) for v in beta), 0.0,
    )
