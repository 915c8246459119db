"""Run an int8 ONNX model's uint8-weight convolutions on onnxruntime's fast int8 product, with the same results.

Kokoro's int8 export (dynamic quantization) keeps its 87 convolution weights as uint8. onnxruntime runs
ConvInteger as uint8 x uint8 products, about 70% of Kokoro's time. On a CPU with VNNI (AVX512-VNNI or
AVX-VNNI), its uint8 x int8 matrix product (VPDPBUSD, int32 sums) is about twice as fast, so each stride-1,
ungrouped ConvInteger with constant weights becomes:

    Transpose to (1, T, C) -> Pad with the input's zero point -> K shifted Slices -> Concat (an im2col, tap-major)
    -> MatMulInteger with the weights as int8 (K*C_in, C_out) -> Transpose back to (1, C_out, T)

Shifting the weights and their zero point by 128 keeps every term: (w - wz) = ((w - 128) - (wz - 128)), and the
products are summed in int32, so the output is the same integers and the audio the same bytes (8 of 8 car
commands, tests/voice/test_int8_onnx.py). Without VNNI, onnxruntime's uint8 x int8 kernel adds pairs of
products in int16, which can saturate: there the model runs unchanged (`wanted`).

The rewritten model is written once to the cache folder (onnx-int8/), named after the source file's identity and
this module's version, and read from there by every later worker and run.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

VERSION = 1  # bump when the rewrite changes: the cached files carry it in their names
ENV = "SCENAVOX_INT8_REWRITE"  # off: always run the model as shipped (to compare, or on a CPU this misjudges)
_INT64_MAX = np.iinfo(np.int64).max


def has_vnni(cpuinfo: str | None = None) -> bool:
    """Whether the CPU multiplies uint8 by int8 exactly in int32 (VNNI); False where that cannot be read."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[-1].split())
            return bool(flags & {"avx512_vnni", "avx_vnni"})
    return False


def wanted() -> bool:
    value = os.environ.get(ENV, "auto").strip().lower()
    if value not in ("", "auto", "off"):
        from ..errors import UserError

        raise UserError(f"{ENV}={os.environ[ENV]!r}: use auto (the default: the int8 copy where the CPU has VNNI) "
                        "or off (the model as shipped)")
    return value != "off" and has_vnni()


def rewrite(model: Any) -> int:
    """Rewrite the model's eligible ConvInteger nodes in place (see the module's text); returns how many."""
    from onnx import helper, numpy_helper

    graph = model.graph
    init = {i.name: i for i in graph.initializer}
    nodes: list[Any] = []
    added: list[Any] = []
    replaced: set[str] = set()
    done = 0
    for node in graph.node:
        conv = _eligible(node, init, helper, numpy_helper)
        if conv is None:
            nodes.append(node)
            continue
        w, wz, pads, dilation = conv
        replaced.update((node.input[1], node.input[3]))
        p = f"{node.name or node.output[0]}/int8_onnx"
        k = w.shape[2]
        # tap-major rows: row t*C_in + c holds w[:, c, t], matching the Concat of the K shifted inputs below
        b = (w.astype(np.int16) - 128).astype(np.int8).transpose(2, 1, 0).reshape(k * w.shape[1], w.shape[0])
        added += [numpy_helper.from_array(b, p + "/b"),
                  numpy_helper.from_array(np.array(int(wz) - 128, np.int8), p + "/bz")]
        x, xz = node.input[0], node.input[2]
        nodes.append(helper.make_node("Transpose", [x], [p + "/xt"], perm=[0, 2, 1], name=p + "/t_in"))
        cur = p + "/xt"
        if pads[0] or pads[1]:
            added.append(numpy_helper.from_array(np.array([0, pads[0], 0, 0, pads[1], 0], np.int64), p + "/pads"))
            nodes.append(helper.make_node("Pad", [cur, p + "/pads", xz], [p + "/xp"], name=p + "/pad"))
            cur = p + "/xp"
        if k > 1:
            span = dilation * (k - 1)
            added.append(numpy_helper.from_array(np.array([1], np.int64), p + "/axis"))
            taps = []
            for t in range(k):
                end = -(span - t * dilation) if span > t * dilation else _INT64_MAX
                added += [numpy_helper.from_array(np.array([t * dilation], np.int64), f"{p}/start{t}"),
                          numpy_helper.from_array(np.array([end], np.int64), f"{p}/end{t}")]
                nodes.append(helper.make_node("Slice", [cur, f"{p}/start{t}", f"{p}/end{t}", p + "/axis"],
                                              [f"{p}/tap{t}"], name=f"{p}/slice{t}"))
                taps.append(f"{p}/tap{t}")
            nodes.append(helper.make_node("Concat", taps, [p + "/cols"], axis=2, name=p + "/im2col"))
            cur = p + "/cols"
        nodes.append(helper.make_node("MatMulInteger", [cur, p + "/b", xz, p + "/bz"], [p + "/yt"], name=p + "/mm"))
        nodes.append(helper.make_node("Transpose", [p + "/yt"], [node.output[0]], perm=[0, 2, 1], name=p + "/t_out"))
        done += 1
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(added)
    used = {i for n in graph.node for i in n.input}
    kept = [i for i in graph.initializer if i.name in used or i.name not in replaced]  # the uint8 weights go
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return done


def _eligible(node: Any, init: dict[str, Any], helper: Any, numpy_helper: Any,
              ) -> tuple[Any, Any, list[int], int] | None:
    """(uint8 weights, their scalar zero point, pads, dilation) of a 1-D, stride-1, ungrouped ConvInteger with
    constant weights and an input zero point; None for any other node (it stays as it is)."""
    if node.op_type != "ConvInteger" or len(node.input) < 4 or node.input[1] not in init or node.input[3] not in init:
        return None
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    w = numpy_helper.to_array(init[node.input[1]])
    wz = numpy_helper.to_array(init[node.input[3]])
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    if (w.dtype != np.uint8 or w.ndim != 3 or wz.ndim != 0 or not node.input[2] or attrs.get("group", 1) != 1
            or list(attrs.get("strides", [1])) != [1] or auto_pad not in (b"NOTSET", "NOTSET")):
        return None
    pads = list(attrs.get("pads", [0, 0]))
    dilation = list(attrs.get("dilations", [1]))[0]
    if len(pads) != 2:
        return None
    return w, wz, pads, dilation


def fast_model(path: str | Path, cache: Path | None = None) -> str:
    """The model to load: the rewritten copy where `wanted()`, read from (or first written to) the cache folder;
    the file as shipped otherwise, or when the copy cannot be written."""
    path = Path(path)
    if not wanted():
        return str(path)
    if cache is None:
        from ..cache import cache_dir

        cache = cache_dir() / "onnx-int8"
    st = path.stat()
    key = hashlib.sha256(f"{VERSION}|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
    out = cache / f"{path.stem}-{key}.onnx"
    if out.is_file():
        return str(out)
    import onnx

    from ..store import write_atomic

    model = onnx.load(str(path))
    if not rewrite(model):
        return str(path)
    try:
        write_atomic(out, model.SerializeToString())  # two workers writing at once write the same bytes
    except OSError:
        return str(path)  # an unwritable cache costs the speed, not the run
    for old in cache.glob(f"{path.stem}-*.onnx"):  # copies of an earlier file or version: 90 MB each for Kokoro
        if old != out:
            old.unlink(missing_ok=True)
    return str(out)
