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


def interval(errors: np.ndarray, seed: int, n: int = BOOTSTRAP) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean of 0/1 errors (clips resampled with replacement)."""
    if len(errors) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = errors[rng.integers(0, len(errors), size=(n, len(errors)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def relative_reduction(err_base: np.ndarray, err_new: np.ndarray, seed: int, n: int = BOOTSTRAP
                       ) -> dict[str, float | None]:
    """(E_base - E_new) / E_base on the same test clips, with a paired bootstrap 95% interval."""
    if len(err_base) == 0 or err_base.mean() == 0:
        return {"value": None, "low": None, "high": None}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(err_base), size=(n, len(err_base)))
    b, d = err_base[idx].mean(axis=1), err_new[idx].mean(axis=1)
    ok = b > 0
    rel = (b[ok] - d[ok]) / b[ok]
    return {"value": round(float((err_base.mean() - err_new.mean()) / err_base.mean()), 4),
            "low": round(float(np.percentile(rel, 2.5)), 4), "high": round(float(np.percentile(rel, 97.5)), 4)}


def score(y_true: list[str], y_pred: list[str], groups: dict[str, list[str]], seed: int) -> dict[str, Any]:
    """Accuracy, error with its interval, and the error per value of each grouping (intent, accent...)."""
    err = np.array([t != p for t, p in zip(y_true, y_pred)], dtype=float)
    lo, hi = interval(err, seed)
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
