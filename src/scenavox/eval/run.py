"""`scenavox eval`: train a probe intent classifier on the corpus, test it on voices it never heard.

Train on synthetic: the probe is fitted on the train split's synthetic rows. Test on held-out: the
scenario's `voices.held_out`, or, when the scenario names none, voices the probe holds out itself
(seeded, whole voices, about a fifth of the rows): every row of such a voice leaves the training
set and goes to the test set. Real rows are scored by source: error where they carry intents, the
probe's confidence where they do not. Baselines (`baselines=True`) train the same probe on the
same train texts voiced otherwise, and are scored on the same held-out test clips:
  b  one clean voice (Piper joe, en-US, default prosody, no acoustics);
  c  the scenario's voices without acoustics (the clean/ audio the build keeps);
  d  the corpus as built.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from ..records import content_id
from ..scenario import Scenario
from ..splits import speaker_of  # noqa: F401 - also read from here by the tests and the report
from ..store import Store, write_atomic
from . import probe

GENERIC_VOICE = {"model": "bundled:joe", "options": {"espeak_voice": "en-us"}}
GENERIC_PROSODY = {"rate": 1.0, "noise_scale": 0.667, "noise_w_scale": 0.8}
HELD_OUT_SHARE = 0.2


def load_rows(store: Store) -> list[dict[str, Any]]:
    """Every dataset row (all splits) with its audio bytes, plus the clean audio path from clips.jsonl."""
    import pyarrow.parquet as pq

    files = sorted((store.dataset_dir / "data").glob("*.parquet"))
    if not files:
        raise UserError(f"{store.dataset_dir}: no exported dataset (data/*.parquet); build the corpus first")
    clean = {}
    clips = store.root / "clips.jsonl"
    if clips.is_file():
        for line in clips.read_text(encoding="utf-8").splitlines():
            if line.strip():
                c = json.loads(line)
                clean[c["id"]] = c.get("clean_audio_path")
    cols = ["id", "audio", "text", "intent", "voice_id", "accent", "source", "provenance", "triple_id",
            "tts_backend", "tts_model"]
    rows = []
    for f in files:
        split = f.name.split("-")[0]
        for r in pq.read_table(f, columns=cols).to_pylist():
            r["split"] = split
            r["speaker"] = speaker_of(r)
            r["clean_audio_path"] = clean.get(r["id"])
            if r["source"] == "real":
                prov = json.loads(r.get("provenance") or "{}").get("real", {})
                r["real_source"] = prov.get("source") or "real"
            rows.append(r)
    return rows


GENERIC_SPEAKER = "piper:bundled:joe"


def held_out_voices(scenario: Scenario, rows: list[dict[str, Any]], seed: int) -> tuple[list[str], str]:
    """(voices, where from): the scenario's, else whole speakers chosen by seeded hash, spread over
    accents, until about HELD_OUT_SHARE of the synthetic rows. The probe never picks the generic
    baseline's speaker (Piper joe): (b) would then be tested on its own training voice."""
    syn = [r for r in rows if r["source"] == "synthetic"]
    declared = [v for v in scenario.voices.held_out if any(r["voice_id"] == v for r in syn)]
    if declared:
        return sorted(declared), "scenario voices.held_out"
    count = Counter(r["speaker"] for r in syn if r["speaker"] != GENERIC_SPEAKER)
    accent_of = {r["speaker"]: r["accent"] or "" for r in syn}
    order = sorted(count, key=lambda v: content_id("eval-held-out", seed, v))
    chosen: list[str] = []
    taken: Counter[str] = Counter()
    total = sum(count.values())
    while sum(count[v] for v in chosen) < HELD_OUT_SHARE * total and len(chosen) < len(count) - 1:
        # the accent with the fewest held-out voices next, so the test set spans accents
        left = [v for v in order if v not in chosen]
        v = min(left, key=lambda x: (taken[accent_of[x]], left.index(x)))
        chosen.append(v)
        taken[accent_of[v]] += 1
    voices = sorted({r["voice_id"] for r in syn if r["speaker"] in set(chosen)})
    return voices, "chosen by the probe (the scenario declares no voices.held_out)"


class _Features:
    """Encoder features per (variant, row id), cached in eval/features/<variant>.npz."""

    def __init__(self, store: Store, threads: int, progress: bool):
        self.dir = store.root / "eval" / "features"
        self.threads, self.progress = threads, progress
        self._enc: Any = None

    def encoder(self) -> Any:
        if self._enc is None:
            from .features import WhisperEncoder

            self._enc = WhisperEncoder(threads=self.threads)
        return self._enc

    def get(self, variant: str, keys: list[str], audio_of: Any) -> np.ndarray:
        path = self.dir / f"{variant}.npz"
        cache: dict[str, np.ndarray] = {}
        if path.is_file():
            with np.load(path) as z:
                cache = dict(zip(z["keys"].tolist(), z["X"]))
        todo = [k for k in keys if k not in cache]
        if todo:
            from tqdm import tqdm

            for k in tqdm(todo, desc=f"features {variant}", disable=not self.progress, unit="clip"):
                x, sr = audio_of(k)
                cache[k] = self.encoder().embed(x, sr)
            self.dir.mkdir(parents=True, exist_ok=True)
            ks = sorted(cache)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, keys=np.array(ks), X=np.stack([cache[k] for k in ks]))
            tmp.replace(path)
        return np.stack([cache[k] for k in keys]) if keys else np.zeros((0, 512), np.float32)


def _bytes_audio(rows_by_id: dict[str, dict[str, Any]]) -> Any:
    from ..audio import read_mono

    return lambda k: read_mono(rows_by_id[k]["audio"]["bytes"])


def speaker_folds(rows: list[dict[str, Any]], k: int, seed: int) -> list[list[str]]:
    """k groups of whole speakers, every synthetic speaker in one (never the generic baseline's, Piper
    joe): seeded order, dealt out one accent after another so that every fold spans the accents."""
    syn = [r for r in rows if r["source"] == "synthetic" and r["intent"] and r["speaker"] != GENERIC_SPEAKER]
    accent_of = {r["speaker"]: r["accent"] or "" for r in syn}
    speakers = sorted(accent_of, key=lambda v: content_id("eval-held-out", seed, v))
    if len(speakers) < k:
        raise UserError(f"--folds {k}: the corpus has {len(speakers)} speaker(s); use at most that many folds")
    folds: list[list[str]] = [[] for _ in range(k)]
    dealt = 0
    for accent in sorted(set(accent_of.values())):
        for v in speakers:
            if accent_of[v] == accent:
                folds[dealt % k].append(v)
                dealt += 1
    return [sorted(f) for f in folds]


def train_test_pairs(scenario: Scenario, rows: list[dict[str, Any]], seed: int, folds: int, max_train: int | None
                     ) -> tuple[list[tuple[list[dict[str, Any]], list[dict[str, Any]]]], dict[str, Any]]:
    """The (train rows, test rows) pairs the probe is fitted and scored on, and what the results say of
    them. One pair: the held-out voices. `folds` pairs: every speaker is held out once (speaker k-fold),
    and its rows are scored by the probe trained without it."""
    syn = [r for r in rows if r["source"] == "synthetic" and r["intent"]]
    if folds > 1:
        declared = [v for v in scenario.voices.held_out if any(r["voice_id"] == v for r in syn)]
        if declared:
            raise UserError(f"--folds {folds}: the scenario declares voices.held_out ({', '.join(declared)}); "
                            "those voices are its test set. Run without --folds, or drop voices.held_out")
        groups = speaker_folds(rows, folds, seed)
        pairs = []
        for g in groups:
            out = set(g)
            # every split trains here: the corpus's own held-out split is just more speakers to rotate
            pairs.append(([r for r in syn if r["speaker"] not in out], [r for r in syn if r["speaker"] in out]))
        info = {"folds": folds, "fold_speakers": groups, "held_out_voices": sorted({r["voice_id"] for _, te in pairs
                                                                                    for r in te}),
                "held_out_from": f"speaker {folds}-fold: every speaker held out once",
                "held_out_speakers": sorted(v for g in groups for v in g)}
    else:
        held, held_from = held_out_voices(scenario, rows, seed)
        hset = set(held)
        # a held-out voice's speaker leaves training in every voice id it has (joe in another accent too)
        held_speakers = {r["speaker"] for r in rows if r["voice_id"] in hset}
        train = [r for r in syn if r["split"] == "train" and r["voice_id"] not in hset
                 and r["speaker"] not in held_speakers]
        test = [r for r in syn if r["voice_id"] in hset]
        pairs = [(train, test)]
        info = {"folds": 1, "held_out_voices": held, "held_out_from": held_from,
                "held_out_speakers": sorted(held_speakers)}
    if max_train:
        def first(tr: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return sorted(tr, key=lambda r: content_id("eval-train", seed, r["id"]))[:max_train]

        pairs = [(first(tr), te) for tr, te in pairs]
    for train, test in pairs:
        leaked = ({r["voice_id"] for r in train} & {r["voice_id"] for r in test}) | (
            {r["speaker"] for r in train} & {r["speaker"] for r in test})
        if leaked:  # cannot happen by construction; a guard so a future change cannot silently leak
            raise AssertionError(f"held-out voices in the probe's training data: {sorted(leaked)}")
    return pairs, info


def evaluate(scenario: Scenario, out: Path | str, *, baselines: bool = False, seed: int | None = None,
             threads: int = 2, progress: bool = True, max_train: int | None = None, folds: int = 1) -> dict[str, Any]:
    """Train the probe on the corpus in `out` and score it; writes <out>/eval/ (results.json,
    confusion.png) and the report's eval section. Returns the results. folds > 1: speaker k-fold
    (every speaker held out once; intervals resample speakers), instead of one held-out set."""
    store = Store(out)
    seed = scenario.seed if seed is None else seed
    rows = load_rows(store)
    by_id = {r["id"]: r for r in rows}
    pairs, info = train_test_pairs(scenario, rows, seed, folds, max_train)
    train_all = [r for tr, _ in pairs for r in tr]
    test = [r for _, te in pairs for r in te]  # in fold order: each test row once
    if not all(tr for tr, _ in pairs) or not test:
        raise UserError(f"{store.root}: the probe needs training rows and held-out test rows; got "
                        f"{min(len(tr) for tr, _ in pairs)} and {len(test)} (build a bigger corpus, or declare "
                        "voices.held_out)")
    feats = _Features(store, threads, progress)
    labels = sorted({r["intent"] for r in train_all} | {r["intent"] for r in test})
    Xte = feats.get("corpus", [r["id"] for r in test], _bytes_audio(by_id))
    yte = [r["intent"] for r in test]
    groups = {"intent": yte, "accent": [r["accent"] for r in test], "voice": [r["voice_id"] for r in test]}
    # with folds, intervals resample whole speakers: a voice's clips fail together
    clusters = [r["speaker"] for r in test] if folds > 1 else None

    variants: dict[str, Any] = {"d": ("scenario corpus (full build)", "corpus", _bytes_audio(by_id))}
    if baselines:
        variants["c"] = ("scenario voices without acoustics (clean/)", "clean", _clean_audio(store, by_id))
        variants["b"] = ("one clean generic voice (Piper joe en-US, default prosody, no acoustics)", "generic",
                         _generic_audio(by_id, seed))
    train_ids = list(dict.fromkeys(r["id"] for r in train_all))  # with folds, a row trains in k-1 of them
    results: dict[str, Any] = {
        "scenario": scenario.name, "seed": seed, "features": "whisper-base-encoder-meanpool (frozen)",
        "head": "StandardScaler + LogisticRegression(C=0.5), scikit-learn", "labels": labels, **info,
        "generic_speaker_in_test": sum(1 for r in test if r["speaker"] == GENERIC_SPEAKER),
        "train_rows": round(len(train_all) / len(pairs)),
        "train_voices": sorted({r["voice_id"] for r in train_all}),
        "test_rows": len(test), "bootstrap": probe.BOOTSTRAP,
        "interval_over": "speakers" if clusters else "clips", "variants": {}, "real": {},
    }
    errs: dict[str, np.ndarray] = {}
    for key, (desc, cache_name, audio_of) in variants.items():
        X = dict(zip(train_ids, feats.get(cache_name, train_ids, audio_of)))
        pred: list[str] = []
        at = 0
        for train, te in pairs:
            clf = probe.fit(np.stack([X[r["id"]] for r in train]), [r["intent"] for r in train], seed)
            pred += list(clf.predict(Xte[at : at + len(te)]))
            at += len(te)
        sc = probe.score(yte, pred, groups, seed, clusters)
        errs[key] = np.array([t != p for t, p in zip(yte, pred)], dtype=float)
        results["variants"][key] = {"description": desc, **sc}
        if key == "d":
            eval_dir = store.root / "eval"
            eval_dir.mkdir(parents=True, exist_ok=True)
            probe.confusion_png(yte, pred, labels, f"{scenario.name}: probe on held-out voices", eval_dir / "confusion.png")
    for key in ("b", "c"):
        if key in errs:
            results[f"relative_error_reduction_d_over_{key}"] = probe.relative_reduction(errs[key], errs["d"], seed,
                                                                                       clusters=clusters)

    real = [r for r in rows if r["source"] == "real"]
    if real:  # never trained on: scored by one probe fitted on every training row above
        model_d = probe.fit(feats.get("corpus", train_ids, _bytes_audio(by_id)),
                            [by_id[k]["intent"] for k in train_ids], seed)
    for name in sorted({r["real_source"] for r in real}):
        rs = [r for r in real if r["real_source"] == name]
        X = feats.get("corpus", [r["id"] for r in rs], _bytes_audio(by_id))
        proba = model_d.predict_proba(X)
        pred = [model_d.classes_[i] for i in proba.argmax(axis=1)]
        block: dict[str, Any] = {"rows": len(rs), "with_intent": sum(1 for r in rs if r["intent"]),
                                 "mean_confidence": round(float(proba.max(axis=1).mean()), 4),
                                 "predicted": dict(Counter(pred).most_common())}
        lab = [(r["intent"], p) for r, p in zip(rs, pred) if r["intent"]]
        if lab:
            block.update(probe.score([t for t, _ in lab], [p for _, p in lab], {}, seed))
        results["real"][name] = block
    write_results(store, results)
    return results


def _clean_audio(store: Store, by_id: dict[str, dict[str, Any]]) -> Any:
    from ..audio import read_mono

    def get(k: str) -> tuple[np.ndarray, int]:
        rel = by_id[k].get("clean_audio_path")
        if not rel or not store.file(rel).is_file():
            raise UserError(f"{store.root}: clip {k} has no clean audio (clean/); baseline (c) needs "
                            "acoustics.keep_clean: true (the default) when the corpus is built")
        return read_mono(store.file(rel))

    return get


def _generic_audio(by_id: dict[str, dict[str, Any]], seed: int) -> Any:
    from ..audio import resample
    from ..voice.audio import set_level, trim_silence
    from ..voice.backends.piper import PiperBackend

    backend: list[Any] = []

    def get(k: str) -> tuple[np.ndarray, int]:
        if not backend:
            backend.append(PiperBackend(threads=1))
        raw, sr = backend[0].synthesize(by_id[k]["text"], GENERIC_VOICE, GENERIC_PROSODY, seed=seed)
        x = trim_silence(np.asarray(raw, dtype=np.float32), sr)
        return set_level(resample(x, sr, 16000), -23.0), 16000

    return get


def write_results(store: Store, results: dict[str, Any]) -> None:
    d = store.root / "eval"
    write_atomic(d / "results.json", json.dumps(results, indent=2, sort_keys=True) + "\n")
    write_atomic(d / "results.txt", format_results(results) + "\n")
    from ..qa.report import insert_eval_section

    insert_eval_section(store, results)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:5.1f}%"


def format_results(res: dict[str, Any]) -> str:
    lines = [f"probe: {res['features']} -> {res['head']}"]
    if res.get("folds", 1) > 1:
        lines.append(f"speaker {res['folds']}-fold: {res['test_rows']} synthetic rows of "
                     f"{len(res['held_out_speakers'])} speakers, each scored by the probe trained on the other folds "
                     f"(about {res['train_rows']} rows each); intervals resample speakers")
    else:
        lines.append(f"train: {res['train_rows']} synthetic rows, {len(res['train_voices'])} voices; test: "
                     f"{res['test_rows']} rows of {len(res['held_out_voices'])} held-out voice(s) "
                     f"({res['held_out_from']}): {', '.join(res['held_out_voices'])}")
    lines.append(f"{'variant':58s} {'accuracy':>9s} {'error':>7s}  95% interval")
    for key, v in res["variants"].items():
        lo, hi = v["error_ci95"]
        lines.append(f"({key}) {v['description'][:54]:54s} {_pct(v['accuracy']):>9s} {_pct(v['error']):>7s}  "
                     f"[{_pct(lo).strip()}, {_pct(hi).strip()}]")
    for key in ("b", "c"):
        rr = res.get(f"relative_error_reduction_d_over_{key}")
        if rr and rr["value"] is not None:
            lines.append(f"relative error reduction of (d) over ({key}): {_pct(rr['value']).strip()} "
                         f"[{_pct(rr['low']).strip()}, {_pct(rr['high']).strip()}]")
    d = res["variants"]["d"]
    for what in ("intent", "accent"):
        per = d.get(f"error_by_{what}", {})
        lines.append(f"(d) error by {what}: " + ", ".join(f"{k} {_pct(g['error']).strip()} (n={g['n']})"
                                                       for k, g in per.items()))
    for name, b in res["real"].items():
        s = f"real '{name}': {b['rows']} rows, mean probe confidence {b['mean_confidence']:.2f}"
        if b.get("error") is not None:
            s += f", error {_pct(b['error']).strip()} [{_pct(b['error_ci95'][0]).strip()}, " \
                 f"{_pct(b['error_ci95'][1]).strip()}] on {b['with_intent']} rows with intents"
        else:
            s += " (no intent labels: confidence only)"
        lines.append(s)
    return "\n".join(lines)
