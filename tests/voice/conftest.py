import numpy as np
import pytest


def f0_hz(x: np.ndarray, sr: int, fmin: float = 60.0, fmax: float = 400.0) -> float:
    """Median autocorrelation pitch of the voiced frames (good enough to compare two clips)."""
    frame, hop = int(0.04 * sr), int(0.01 * sr)
    lo, hi = int(sr / fmax), int(sr / fmin)
    peak = np.max(np.abs(x)) + 1e-9
    f0s = []
    for start in range(0, len(x) - frame, hop):
        f = x[start:start + frame]
        if np.sqrt(np.mean(f ** 2)) < 0.1 * peak:
            continue
        f = f - f.mean()
        ac = np.correlate(f, f, "full")[frame - 1:]
        if ac[0] <= 0:
            continue
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] / ac[0] > 0.5:
            f0s.append(sr / lag)
    return float(np.median(f0s)) if f0s else 0.0


def is_speechlike(x: np.ndarray, sr: int) -> bool:
    """Not silence, not a constant tone: energy that comes and goes over 10 ms frames."""
    frame = int(0.01 * sr)
    n = len(x) // frame
    env = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1))
    if env.max() < 1e-3:
        return False
    active = env > 0.05 * env.max()
    return 0.3 < active.mean() < 0.99 and np.count_nonzero(np.diff(active.astype(int))) >= 4


@pytest.fixture
def speechlike():
    return is_speechlike


@pytest.fixture
def pitch():
    return f0_hz
