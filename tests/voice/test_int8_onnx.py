"""ConvInteger rewritten as im2col + MatMulInteger with int8 weights: the same integers, cached once, used only
where the CPU multiplies exactly (VNNI)."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from scenavox.errors import UserError  # noqa: E402
from scenavox.voice import int8_onnx  # noqa: E402
from scenavox.voice.int8_onnx import ENV, fast_model, has_vnni, rewrite  # noqa: E402

VNNI = has_vnni()


def conv_model(c_in, c_out, k, pads, dilation=1, stride=1, low=0, high=256, seed=0):
    """One ConvInteger with constant uint8 weights in [low, high) and a runtime input and zero point."""
    rng = np.random.default_rng(seed)
    w = rng.integers(low, high, (c_out, c_in, k), dtype=np.uint8)
    wz = np.array(int(rng.integers(low, high)), np.uint8)
    node = helper.make_node("ConvInteger", ["x", "w", "xz", "wz"], ["y"], kernel_shape=[k], pads=pads,
                            dilations=[dilation], strides=[stride], name="conv")
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, c_in, None]),
                      helper.make_tensor_value_info("xz", TensorProto.UINT8, [])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, None)],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(wz, "wz")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def run(model, x, xz):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x, "xz": np.array(xz, np.uint8)})[0]


# weights within 32 of 128: a uint8 x int8 product pair stays inside int16, so the rewrite is exact on any CPU and
# these cases test the graph (taps, padding, dilation, layout), not the CPU
SHAPES = [(8, 6, 1, [0, 0], 1), (8, 6, 3, [1, 1], 1), (5, 7, 7, [9, 9], 3), (4, 4, 11, [25, 25], 5),
          (6, 3, 3, [2, 0], 1), (6, 3, 5, [0, 0], 1)]


@pytest.mark.parametrize("c_in,c_out,k,pads,dilation", SHAPES)
def test_rewrite_gives_the_same_integers(c_in, c_out, k, pads, dilation):
    model = conv_model(c_in, c_out, k, pads, dilation, low=96, high=160)
    x = np.random.default_rng(1).integers(0, 256, (1, c_in, 57), dtype=np.uint8)
    want = run(model, x, 117)
    assert rewrite(model) == 1
    assert [n.op_type for n in model.graph.node].count("ConvInteger") == 0
    assert {i.name for i in model.graph.initializer}.isdisjoint({"w", "wz"})  # the uint8 weights are gone
    got = run(model, x, 117)
    assert got.shape == want.shape and np.array_equal(got, want)


@pytest.mark.skipif(not VNNI, reason="full-range weights are exact only with VNNI; without it the rewrite is not used")
def test_full_range_weights_are_exact_with_vnni():
    model = conv_model(64, 32, 7, [3, 3], 1)
    x = np.random.default_rng(2).integers(0, 256, (1, 64, 300), dtype=np.uint8)
    want = run(model, x, 255)
    assert rewrite(model) == 1
    assert np.array_equal(run(model, x, 255), want)


def test_other_convolutions_and_initializers_stay():
    strided = conv_model(4, 4, 12, [3, 3], stride=6)
    assert rewrite(strided) == 0 and [n.op_type for n in strided.graph.node] == ["ConvInteger"]
    model = conv_model(4, 4, 3, [1, 1], low=96, high=160)
    model.graph.initializer.append(numpy_helper.from_array(np.zeros(3, np.float32), "unused_here"))
    assert rewrite(model) == 1 and "unused_here" in {i.name for i in model.graph.initializer}


def test_has_vnni_reads_the_cpu_flags():
    assert has_vnni("processor: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n")
    assert has_vnni("flags : fpu avx2 avx_vnni\n")
    assert not has_vnni("flags : fpu sse2 avx2 avx512f\n")
    assert not has_vnni("")


def test_fast_model_writes_the_copy_once_and_only_where_wanted(tmp_path, monkeypatch):
    src = tmp_path / "m.onnx"
    onnx.save(conv_model(8, 6, 3, [1, 1], low=96, high=160), str(src))
    cache = tmp_path / "cache"
    monkeypatch.setattr(int8_onnx, "has_vnni", lambda cpuinfo=None: True)
    out = fast_model(src, cache)
    assert out != str(src) and out.startswith(str(cache))
    assert [n.op_type for n in onnx.load(out).graph.node].count("MatMulInteger") == 1
    stamp = (cache / out.split("/")[-1]).stat().st_mtime_ns
    assert fast_model(src, cache) == out and (cache / out.split("/")[-1]).stat().st_mtime_ns == stamp
    onnx.save(conv_model(8, 6, 5, [2, 2], low=96, high=160), str(src))  # the model file changes
    newer = fast_model(src, cache)
    assert newer != out and [p.name for p in cache.iterdir()] == [newer.split("/")[-1]]  # the old copy is gone
    monkeypatch.setenv(ENV, "off")
    assert fast_model(src, cache) == str(src)
    monkeypatch.setenv(ENV, "of")  # a typo is an error, not a silent default
    with pytest.raises(UserError, match="SCENAVOX_INT8_REWRITE='of'"):
        fast_model(src, cache)
    monkeypatch.delenv(ENV)
    monkeypatch.setattr(int8_onnx, "has_vnni", lambda cpuinfo=None: False)
    assert fast_model(src, cache) == str(src)


def test_unwritable_cache_runs_the_model_as_shipped(tmp_path, monkeypatch):
    src = tmp_path / "m.onnx"
    onnx.save(conv_model(8, 6, 3, [1, 1], low=96, high=160), str(src))
    monkeypatch.setattr(int8_onnx, "has_vnni", lambda cpuinfo=None: True)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    assert fast_model(src, blocker / "cache") == str(src)
