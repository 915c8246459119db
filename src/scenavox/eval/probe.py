"""The probe: a seeded logistic regression on frozen features, scored with bootstrap intervals."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

BOOTSTRAP = 2000


def fit(X: np.ndarray, y: list[str], seed: int) -> Any:
    """Standardized features -> multinomial logistic regression (lbfgs is deterministic given the data)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(set(y)) < 2:
        from ..errors import UserError

        raise UserError(f"the probe needs at least two intents in its training rows; got {sorted(set(y))}")
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=3000, random_state=seed))
    return clf.fit(X, y)


def _resamples(n_items: int, clusters: list[str] | None, seed: int, n: int) -> list[np.ndarray]:
    """n bootstrap resamples of item indices: items with replacement, or, given each item's cluster (its
    speaker), whole clusters with replacement (a voice's clips fail together, so clips are not independent)."""
    rng = np.random.default_rng(seed)
    if clusters is None:
        return list(rng.integers(0, n_items, size=(n, n_items)))
    names = sorted(set(clusters))
    members = [np.array([i for i, c in enumerate(clusters) if c == name]) for name in names]
    return [np.concatenate([members[j] for j in rng.integers(0, len(names), size=len(names))]) for _ in range(n)]


def interval(errors: np.ndarray, seed: int, n: int = BOOTSTRAP,
             clusters: list[str] | None = None) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean of 0/1 errors (clips, or their clusters, resampled)."""
    if len(errors) == 0:
        return (float("nan"), float("nan"))
    means = np.array([errors[idx].mean() for idx in _resamples(len(errors), clusters, seed, n)])
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def relative_reduction(err_base: np.ndarray, err_new: np.ndarray, seed: int, n: int = BOOTSTRAP,
                       clusters: list[str] | None = None) -> dict[str, float | None]:
    """(E_base - E_new) / E_base on the same test clips, with a paired bootstrap 95% interval."""
    if len(err_base) == 0 or err_base.mean() == 0:
        return {"value": None, "low": None, "high": None}
    rel = []
    for idx in _resamples(len(err_base), clusters, seed, n):
        b, d = err_base[idx].mean(), err_new[idx].mean()
        if b > 0:
            rel.append((b - d) / b)
    return {"value": round(float((err_base.mean() - err_new.mean()) / err_base.mean()), 4),
            "low": round(float(np.percentile(rel, 2.5)), 4), "high": round(float(np.percentile(rel, 97.5)), 4)}


def score(y_true: list[str], y_pred: list[str], groups: dict[str, list[str]], seed: int,
          clusters: list[str] | None = None) -> dict[str, Any]:
    """Accuracy, error with its interval, and the error per value of each grouping (intent, accent...)."""
    err = np.array([t != p for t, p in zip(y_true, y_pred)], dtype=float)
    lo, hi = interval(err, seed, clusters=clusters)
    out: dict[str, Any] = {"n": len(err), "accuracy": round(1 - float(err.mean()), 4) if len(err) else None,
                           "error": round(float(err.mean()), 4) if len(err) else None,
                           "error_ci95": [round(lo, 4), round(hi, 4)]}
    for name, labels in groups.items():
        by: dict[str, list[float]] = defaultdict(list)
        for e, g in zip(err, labels):
            by[g or "?"].append(e)
        out[f"error_by_{name}"] = {g: {"n": len(v), "error": round(float(np.mean(v)), 4)} for g, v in sorted(by.items())}
    return out


def confusion_png(y_true: list[str], y_pred: list[str], labels: list[str], title: str, path: Any) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(1.1 * len(labels) + 3, 1.1 * len(labels) + 2))
    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, labels=labels, ax=ax, colorbar=False,
                                            xticks_rotation=45)
    ax.set_title(title)
    fig.savefig(path, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
