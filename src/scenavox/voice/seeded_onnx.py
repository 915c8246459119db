"""Make the random noise inside a VITS ONNX graph an input, so synthesis is reproducible.

Piper's VITS graphs draw noise with RandomNormalLike nodes. ONNX Runtime seeds those once
per session, so the same text gives different audio depending on what the worker voiced
before: a resumed or parallel run would not reproduce an uninterrupted one. We replace each
RandomNormalLike(X) with Reshape(Slice(noise_input, 0, size(X)), shape(X)) and feed noise
drawn from a generator seeded per clip and per call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NOISE_PREFIX = "scenavox_noise_"
BASE_NOISE = 1 << 17  # floats per noise input: 192 channels x 682 frames (~8 s of speech); grown on demand


def explicit_noise_model(model_bytes: bytes) -> tuple[bytes, list[str]]:
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load_model_from_string(model_bytes)
    graph = model.graph
    new_nodes = []
    noise_inputs: list[str] = []
    zero = helper.make_tensor(f"{NOISE_PREFIX}zero", TensorProto.INT64, [1], [0])
    graph.initializer.append(zero)
    for node in graph.node:
        if node.op_type != "RandomNormalLike":
            new_nodes.append(node)
            continue
        k = len(noise_inputs)
        name = f"{NOISE_PREFIX}{k}"
        noise_inputs.append(name)
        graph.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["n"]))
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        x, out = node.input[0], node.output[0]
        p = f"{NOISE_PREFIX}{k}_"
        new_nodes += [
            helper.make_node("Shape", [x], [p + "shape"]),
            helper.make_node("ReduceProd", [p + "shape"], [p + "size"], keepdims=1),
            helper.make_node("Slice", [name, zero.name, p + "size"], [p + "flat"]),
            helper.make_node("Reshape", [p + "flat", p + "shape"], [p + "raw"]),
        ]
        mean, scale = float(attrs.get("mean", 0.0)), float(attrs.get("scale", 1.0))
        if mean == 0.0 and scale == 1.0:
            new_nodes.append(helper.make_node("Identity", [p + "raw"], [out]))
        else:
            graph.initializer.extend([
                helper.make_tensor(p + "scale", TensorProto.FLOAT, [], [scale]),
                helper.make_tensor(p + "mean", TensorProto.FLOAT, [], [mean]),
            ])
            new_nodes += [
                helper.make_node("Mul", [p + "raw", p + "scale"], [p + "scaled"]),
                helper.make_node("Add", [p + "scaled", p + "mean"], [out]),
            ]
    del graph.node[:]
    graph.node.extend(new_nodes)
    return model.SerializeToString(), noise_inputs


class SeededSession:
    """Wraps an InferenceSession; each run() gets noise from (seed, call number, input)."""

    def __init__(self, session: Any, noise_inputs: list[str]):
        self.session = session
        self.noise_inputs = noise_inputs
        self.seed = 0
        self.calls = 0

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self.calls = 0

    def _noise(self, k: int, size: int) -> np.ndarray:
        # A fresh generator per (seed, call, input): the first values do not depend on size,
        # so growing the buffer on a long sentence changes nothing that was already drawn.
        rng = np.random.default_rng([self.seed, self.calls, k])
        return rng.standard_normal(size, dtype=np.float32)

    def run(self, output_names: Any, feeds: dict[str, Any], run_options: Any = None) -> Any:
        size = BASE_NOISE
        for _ in range(4):
            full = {**feeds, **{name: self._noise(k, size) for k, name in enumerate(self.noise_inputs)}}
            try:
                result = self.session.run(output_names, full, run_options)
                break
            except Exception as exc:  # noqa: BLE001 - ORT raises its own types; too little noise -> reshape error
                if "Reshape" not in str(exc) and "reshape" not in str(exc):
                    raise
                size *= 8
        else:
            raise RuntimeError("sentence too long for the noise buffer")
        self.calls += 1
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)
