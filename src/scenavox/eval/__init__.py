"""Does the corpus help a model? A probe intent classifier trained on synthetic, tested on held-out voices."""

from .run import evaluate, format_results

__all__ = ["evaluate", "format_results"]
