"""TTS backends: the protocol and the registry are in base.py; one module per backend."""

from .base import (TTSBackend, backend_class, install_hint, is_cloud, names, needs, pitch_native, register, snapshot,
                   unregister)

__all__ = ["TTSBackend", "backend_class", "install_hint", "is_cloud", "names", "needs", "pitch_native", "register",
           "snapshot", "unregister"]
