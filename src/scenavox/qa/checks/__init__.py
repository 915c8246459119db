"""QA checks: the protocol and the registry are in base.py; one module per check.

The order below is the order of each clip's reasons and of the dataset's qa_* columns.
"""

from .base import COSTS, ClipSignals, QACheck, check_classes, checks, register, unregister
from .clipping import Clipping
from .dnsmos import DNSMOS, NOISY_SNR_DB
from .level import Level
from .pitch import Pitch
from .recognition import Recognition
from .snr import SNR
from .timing import Timing

# The built-in checks: one line each.
register(Recognition)
register(DNSMOS)
register(Timing)
register(Clipping)
register(Level)
register(SNR)
register(Pitch)

__all__ = ["COSTS", "NOISY_SNR_DB", "ClipSignals", "QACheck", "check_classes", "checks", "register", "unregister"]
