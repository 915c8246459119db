"""Which Kokoro v1.0 voices and blends go into the pool: quality, intelligibility, distinctness.

For every stock voice in voices/kokoro/ (and, for comparison, a few voices already in
voices/default.yaml), and for seeded blends of the stock voices that pass, it synthesizes the
same short sentences (car commands for English, taxi requests for Mandarin) and prints:
  - DNSMOS OVRL median of the clean clips (qa/mos.py; the voice, not a scene);
  - WER (CER for Mandarin) of Whisper base (qa/asr.py, greedy, as QA runs it), mean over the
    clips, and how many clips pass QA's medium threshold (WER <= 0.25);
  - max cosine similarity of the voice's GE2E centroid (resemblyzer) to every other voice.
A voice passes with median OVRL >= 2.8, mean WER <= 0.1 and at most one clip over 0.25. A blend
is kept when it passes AND sounds like a new speaker: cosine < 0.8 to every voice in the pool
(passing stock voices, reference voices, blends kept before it). Mandarin error rates fold
traditional characters to simplified first (Whisper base writes either) when `zhconv` is importable.

  python bench/kokoro_voices.py                      # English stock voices + blends
  python bench/kokoro_voices.py --mandarin           # also the Mandarin voices, both G2Ps
  python bench/kokoro_voices.py --n 4 --blends 0     # a quick look
  python bench/kokoro_voices.py --car --mandarin --n 4 --accent-langs en-us-nyc,en-029 \
      --accent-blends 6 --cross-gender --blend-alpha 50 --prosody-swaps 5 --seed 21
        # the default car pool as the voice planner draws it for 200 items: each voice's clean DNSMOS
        # and WER, distinct speakers, neural share, accent shares; Kokoro voices read with eSpeak NG's
        # New York City / Caribbean phonemes; blend and prosody-swap candidates for those accents;
        # and taxi_zh's Mandarin voices with their Whisper CER

Synthesized audio is cached (--cache), so a second run only measures. Sizes: --n sentences per
voice (default 6), one thread each for Kokoro, Whisper, DNSMOS and the GE2E encoder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np
from common import CAR_SENTENCES, ROOT

# Short taxi requests in Mandarin, the taxi_zh scenario's kind of text (no digits: Whisper
# writes numbers either way)
TAXI_ZH = ["帮我叫车去白云机场。", "去广州南站要多少钱？", "等太久了，取消订单吧。", "我想去天河城，麻烦快一点。",
           "请送我到中山大学正门。", "计划有变，帮我取消这个订单。", "从这里到北京路大概多少钱？",
           "师傅，前面路口停一下就行。", "我在酒店门口等你。", "叫错车了，不好意思。"]
GROUPS = {"a": ("en-US", "en-us"), "b": ("en-GB", "en-gb"), "h": ("en-IN", "en-us"), "z": ("zh-CN", "cmn")}
MIN_OVRL, MAX_WER, CLIP_WER, SAME_SPEAKER = 2.8, 0.1, 0.25, 0.8
REFERENCES = ("piper-joe-en-us", "espeak-en-us-nyc-pablo", "espeak-en-us-nyc-edward2", "espeak-en-029-f1",
              "espeak-en-029-sandro", "espeak-en-029-anika")


def _audio_key(voice: dict, raw_zh_espeak: bool) -> str:
    """What a clip's audio depends on: backend, model and options (not the id or the labels)."""
    what = [{k: voice.get(k) for k in ("backend", "model", "speaker", "options")}, raw_zh_espeak]
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def _to_simplified() -> object:
    try:
        import zhconv  # not a dependency: only for this measurement
    except ImportError:
        return lambda s: s
    return lambda s: zhconv.convert(s, "zh-cn")


class Bench:
    def __init__(self, args: argparse.Namespace):
        from scenavox.qa.asr import FasterWhisperTranscriber
        from scenavox.qa.mos import DNSMOS
        from scenavox.voice.backends.kokoro import KokoroBackend

        self.args = args
        self.cache = Path(args.cache)
        self.cache.mkdir(parents=True, exist_ok=True)
        self.kokoro = KokoroBackend(threads=1, styles=Path(args.styles))
        self.asr = FasterWhisperTranscriber(threads=1)
        self.mos = DNSMOS(threads=1)
        self.encoder = None
        self.simplify = _to_simplified()
        self.rows: dict[str, dict] = {}

    def audio(self, key: str, voice: dict, texts: list[str], raw_zh_espeak: bool = False) -> list[np.ndarray]:
        """16 kHz clips of texts in voice, cached per voice: a later run with fewer (or more) of the same
        sentences reuses what is there."""
        from scenavox.audio import resample
        from scenavox.voice.audio import trim_silence

        path = self._path(key, voice, raw_zh_espeak, ".npz")
        have: dict[str, np.ndarray] = {}
        if path.is_file():
            with np.load(path) as z:
                have = {str(t): z[f"c{i}"] for i, t in enumerate(z["texts"])}
        prosody = {"rate": 1.0, "noise_scale": 0.667, "noise_w_scale": 0.8, "pitch_semitones": 0.0, "pause_ms": 0}
        for text in texts:
            if text in have:
                continue
            if raw_zh_espeak:  # kokoro-onnx's own Mandarin path: eSpeak NG cmn phonemes
                x, sr = self.kokoro._load().create(text, voice=self.kokoro.style(voice["options"]), lang="cmn")
            elif voice["backend"] == "kokoro":
                x, sr = self.kokoro.synthesize(text, voice, prosody, 1)
            else:
                x, sr = self._stage()._backend(voice["backend"]).synthesize(text, voice, prosody, 1)
            have[text] = resample(trim_silence(np.asarray(x, np.float32), sr), sr, 16000).astype(np.float32)
            order = list(have)
            np.savez(path, texts=np.array(order), **{f"c{i}": have[t] for i, t in enumerate(order)})
        return [have[t] for t in texts]

    def _path(self, key: str, voice: dict, raw_zh_espeak: bool, ext: str) -> Path:
        """The cache file of a voice's audio: a voice measured before under another name (a candidate that
        went into the registry) reuses it."""
        h = _audio_key(voice, raw_zh_espeak)
        path = self.cache / f"{key.replace(':', '_').replace('/', '_')}-{h}{ext}"
        return path if path.is_file() else next(iter(sorted(self.cache.glob(f"*-{h}{ext}"))), path)

    def _stage(self):  # noqa: ANN202
        from scenavox.voice.stage import VoiceStage

        if not hasattr(self, "_vs"):
            self._vs = VoiceStage(threads=1)
        return self._vs

    def measure(self, key: str, voice: dict, texts: list[str], lang: str, raw_zh_espeak: bool = False) -> dict:
        from scenavox.qa.metrics import cer, wer

        clips = self.audio(key, voice, texts, raw_zh_espeak)
        path = self._path(key, voice, raw_zh_espeak, ".metrics.json")
        done = json.loads(path.read_text()) if path.is_file() else {}
        err = cer if lang == "zh" else wer
        for t, c in zip(texts, clips):
            if t not in done:
                heard = self.asr.transcribe(c, lang)
                done[t] = {"ovrl": self.mos.score(c)["ovrl"], "heard": heard,
                           "err": err(self.simplify(t), self.simplify(heard)), "emb": self._embed(c).tolist()}
                path.write_text(json.dumps(done, ensure_ascii=False))
        ms = [done[t] for t in texts]
        errs = [m["err"] for m in ms]
        cent = np.mean([np.asarray(m["emb"]) for m in ms], axis=0)
        row = {"voice": voice, "lang": lang, "ovrl": float(np.median([m["ovrl"] for m in ms])),
               "ovrls": [m["ovrl"] for m in ms], "errs": errs,
               "err": float(np.mean(errs)), "bad": sum(e > CLIP_WER for e in errs),
               "emb": cent / np.linalg.norm(cent), "seconds": sum(len(c) for c in clips) / 16000}
        row["ok"] = row["ovrl"] >= MIN_OVRL and row["err"] <= MAX_WER and row["bad"] <= 1
        self.rows[key] = row
        return row

    def _embed(self, clip: np.ndarray) -> np.ndarray:
        """Unit GE2E embedding of one clip (the voice's centroid is their mean, as in qa/extra.py)."""
        from resemblyzer import VoiceEncoder, preprocess_wav

        if self.encoder is None:
            import torch

            torch.set_num_threads(1)
            self.encoder = VoiceEncoder("cpu", verbose=False)
        e = self.encoder.embed_utterance(preprocess_wav(clip, source_sr=16000))
        return e / np.linalg.norm(e)

    def max_cos(self, key: str, among: list[str]) -> tuple[float, str]:
        e = self.rows[key]["emb"]
        best = max(((float(e @ self.rows[k]["emb"]), k) for k in among if k != key), default=(0.0, "-"))
        return best


def stock_voices(styles: Path) -> list[str]:
    return sorted(p.stem for p in styles.glob("*.bin") if p.stem[0] in GROUPS)


def voice_of(name_or_blend: str | dict, prefix: str) -> dict:
    _, lang = GROUPS[prefix]
    opts = {"blend": name_or_blend} if isinstance(name_or_blend, dict) else {"style": name_or_blend}
    if lang != "en-us":
        opts["lang"] = lang
    return {"id": str(name_or_blend), "backend": "kokoro", "model": "kokoro-82m-v1.0-int8", "options": opts}


def make_blends(rng: np.random.Generator, parents: list[str], n: int, alpha: float = 1.0,
                cross_gender: bool = False, spread: int = 0, sim: object = None) -> list[dict[str, float]]:
    """n seeded blends of 2 or 3 parents (same gender unless cross_gender; then one of each in a pair),
    Dirichlet(alpha) weights rounded to 0.05, each >= 0.15 (recorded as given).

    With cross_gender, the pair's voices are far apart (cosine < 0.6). spread=k: k parents of one gender whose voices are far apart (every pair's cosine < 0.7, sim(a, b)),
    so that no parent dominates what the blend sounds like: a blend close to one parent is that parent."""
    out: list[dict[str, float]] = []
    if spread:
        by_g: dict[str, list[str]] = {}
        for p in parents:
            by_g.setdefault(p[1], []).append(p)
        tries = 0
        while len(out) < n and tries < 1000 * n:
            tries += 1
            pool = by_g[sorted(by_g)[int(rng.integers(len(by_g)))]]
            if len(pool) < spread:
                continue
            names = sorted(rng.choice(pool, size=spread, replace=False).tolist())
            if any(sim(a, b) >= 0.7 for i, a in enumerate(names) for b in names[i + 1:]):
                continue
            w = rng.dirichlet(alpha * np.ones(spread))
            w = np.round(w / w.sum() / 0.05) * 0.05
            w[-1] = round(1.0 - w[:-1].sum(), 2)
            blend = {nm: round(float(x), 2) for nm, x in zip(names, w)}
            if min(blend.values()) >= 0.15 and blend not in out:
                out.append(blend)
        return out
    by_gender: dict[str, list[str]] = {}
    for p in parents:
        by_gender.setdefault(p[1], []).append(p)
    pools = [v for v in by_gender.values() if len(v) >= 2]
    tries = 0
    while len(out) < n and tries < 100 * n:
        tries += 1
        if cross_gender:
            if len(by_gender) < 2:
                break
            names = sorted(str(rng.choice(by_gender[g])) for g in sorted(by_gender))
            if sim is not None and sim(names[0], names[1]) >= 0.6:
                continue  # a near pair's blend sounds like one of them
            k = len(names)
        else:
            if not pools:
                break
            pool = pools[int(rng.integers(len(pools)))]
            k = 2 if len(pool) == 2 or rng.random() < 0.6 else 3
            names = sorted(rng.choice(pool, size=k, replace=False).tolist())
        w = np.maximum(0.15, rng.dirichlet(alpha * np.ones(k)))
        w = np.round(w / w.sum() / 0.05) * 0.05
        w[-1] = round(1.0 - w[:-1].sum(), 2)
        blend = {nm: round(float(x), 2) for nm, x in zip(names, w)}
        if min(blend.values()) >= 0.15 and blend not in out:
            out.append(blend)
    return out


def fmt(key: str, r: dict, cos: tuple[float, str], extra: str = "") -> str:
    return (f"{key:44s} {r['lang']:3s} {r['ovrl']:5.2f} {r['err']:6.3f} {r['bad']:3d} {cos[0]:6.3f} "
            f"{cos[1][:30]:30s} {'ok' if r['ok'] else '--'} {extra}")

ACCENT_NAMES = {"en-us-nyc": "New York City", "en-029": "Caribbean"}


def planned(scenario: str, n: int) -> tuple[object, list]:
    """The voice planner's tasks for n items of a scenario in prompts/ (no text, no synthesis)."""
    import os

    from scenavox.records import Command, Triple
    from scenavox.scenario import load_scenario
    from scenavox.voice.stage import VoicePlanner

    os.chdir(ROOT)
    sc = load_scenario(f"prompts/{scenario}.yaml")
    pl = VoicePlanner(sc, sc.seed)
    items = [Triple(id=f"t{i:04d}", index=i, command=Command(intent="x"), utterance="x", reply="ok") for i in range(n)]
    return pl, [pl.task_for(t, slot) for t, slot in zip(items, pl.schedule(n))]


def distinct(b: Bench, keys: list[str]) -> list[str]:
    """Greedy, in order: the voices whose GE2E centroid is < SAME_SPEAKER to every voice chosen before."""
    chosen: list[str] = []
    for k in keys:
        if all(float(b.rows[k]["emb"] @ b.rows[c]["emb"]) < SAME_SPEAKER for c in chosen):
            chosen.append(k)
    return chosen


def car_pool(b: Bench, args: argparse.Namespace, texts: list[str]) -> None:
    """The default car pool as the planner draws it (--plan-n items): every voice measured on clean clips,
    Kokoro stock voices read with other eSpeak NG English variants (--accent-langs), and blends read with
    them (--accent-blends per language), kept when they pass and are new to the pool."""
    from collections import Counter

    pl, tasks = planned("car", args.plan_n)
    pool = list(dict.fromkeys(v.id for vs in pl.by_accent.values() for v in vs))
    voices = {v.id: v.model_dump(mode="json") for vs in pl.by_accent.values() for v in vs}
    head = f"{'voice':44s} {'lng':3s} {'OVRL':>5s} {'WER':>6s} {'>.25':>3s} {'maxcos':>6s} {'nearest':30s} pass"
    stock = {voices[v]["options"]["style"]: v for v in pool
             if voices[v]["backend"] == "kokoro" and "style" in voices[v]["options"]}
    langs = [x for x in args.accent_langs.split(",") if x]
    # a trial "name" is read in every --accent-langs language, "name@lang" in that one only
    trials = {f"{name}@{lang}": (name, {"style": name, "lang": lang})
              for lang in langs for spec in [x for x in args.accent_voices.split(",") if x]
              for name, only in [(spec.split("@") + [""])[:2]] if only in ("", lang)}
    # Candidates depend on the seed and the registry only (not on measurements), so a run can measure
    # them first (--measure-only) while another measures the pool. Parents: the car pool's American and
    # British stock voices (all passed the gate); languages alternate over the candidates.
    rng = np.random.default_rng(args.seed)
    parents = [n for n in sorted(stock) if n[0] in "ab"]
    cands = make_blends(rng, parents, args.accent_blends * len(langs), args.blend_alpha, args.cross_gender,
                        0, None) if langs and args.accent_blends else []
    candidates = {}
    for i, blend in enumerate(cands):
        lang = langs[i % len(langs)]
        candidates["+".join(f"{k}:{w:g}" for k, w in blend.items()) + f"@{lang}"] = (lang, {"blend": blend})
    # prosody swaps: one voice's timbre (the decoder's half of the style) with another's pitch and rhythm
    # (the predictor's half); their own rng, so the blends above stay what they were for a seed
    rng2 = np.random.default_rng(args.seed + 1000)
    for i in range(args.prosody_swaps * len(langs) if langs else 0):
        timbre, prosody = (str(x) for x in rng2.choice(parents, size=2, replace=False))
        lang = langs[i % len(langs)]
        candidates[f"{timbre}~{prosody}@{lang}"] = (lang, {"style": timbre, "prosody_blend": {prosody: 1.0}})
    kokoro = lambda opts: {"backend": "kokoro", "model": "kokoro-82m-v1.0-int8", "options": opts}  # noqa: E731
    if args.measure_only:
        for key, (_, opts) in trials.items():
            b.measure(key, {"id": key, **kokoro(opts)}, texts, "en")
        for key, (lang, opts) in candidates.items():
            b.measure(key, {"id": key, **kokoro({**opts, "lang": lang})}, texts, "en")
        for key in list(trials) + list(candidates):
            r = b.rows[key]
            print(f"{key:60s} OVRL {r['ovrl']:.2f} WER {r['err']:.3f} bad {r['bad']}", flush=True)
        return
    for vid in pool:
        b.measure(vid, voices[vid], texts, "en")
    if trials:
        print("\n# Kokoro stock voices read with other eSpeak NG English phonemes (own: cosine to the same style "
              "in its registry accent)")
        print(head)
        for key, (name, opts) in trials.items():
            r = b.measure(key, {"id": key, **kokoro(opts)}, texts, "en")
            own = float(r["emb"] @ b.rows[stock[name]]["emb"]) if name in stock else float("nan")
            print(fmt(key, r, b.max_cos(key, [k for k in pool if k != stock.get(name)])), f"own {own:.3f}",
                  flush=True)
        # which passing trials would be new speakers in the pool: greedy, one accent per style (its first
        # passing language here; a style read with other phonemes is the same speaker to GE2E)
        new, seen = [], set()
        for key, (name, _) in trials.items():
            if b.rows[key]["ok"] and name not in stock and name not in seen:
                seen.add(name)
                new.append(key)
        gain = [k for k in distinct(b, pool + new) if k in new]
        print(f"car pool + passing trials: {len(distinct(b, pool))} -> {len(distinct(b, pool + new))} distinct "
              f"(new: {', '.join(gain) or 'none'})")
    kept: list[tuple[str, str, dict]] = []
    if candidates:
        print(f"\n# blend candidates read with {', '.join(langs)} (seed {args.seed}): kept when passing and max "
              f"cosine to the car pool and the blends kept before < {SAME_SPEAKER}")
        print(head)
        for key, (lang, opts) in candidates.items():
            r = b.measure(key, {"id": key, **kokoro({**opts, "lang": lang})}, texts, "en")
            cos = b.max_cos(key, pool + [k for k, _, _ in kept])
            keep = r["ok"] and cos[0] < SAME_SPEAKER
            print(fmt(key, r, cos, "KEEP" if keep else ""), flush=True)
            if keep:
                kept.append((key, lang, opts))
    print(f"\n# the default car pool ({len(pool)} voices), as planned for {args.plan_n} items")
    print(head + "  planned")
    count = Counter(t.voice["id"] for t in tasks)
    for k in pool:
        print(fmt(k, b.rows[k], b.max_cos(k, pool)), count[k])
    n = len(tasks)
    neural = sum(t.voice["backend"] != "espeak" for t in tasks) / n
    accents = Counter(t.voice["accent"] for t in tasks)
    shares = ", ".join(f"{a} {accents[a] / n:.3f} (target {w:g})" for a, w in pl.scenario.accent_weights.items())
    worst = max(abs(accents[a] / n - w) for a, w in pl.scenario.accent_weights.items())
    clips = [o for k in pool for o in b.rows[k]["ovrls"] for _ in range(count[k])]  # each voice's clips x its share
    low = [k for k in pool if b.rows[k]["ovrl"] < MIN_OVRL]
    print(f"car: {len(pool)} voices, {len(distinct(b, pool))} distinct at cosine < {SAME_SPEAKER} (greedy, in "
          f"registry order); neural share {neural:.3f}; accent shares {shares}; largest gap {worst:.3f}")
    print(f"car: clean DNSMOS OVRL median {np.median(clips):.2f} (clips weighted by planned share), voice medians "
          f"min {min(b.rows[k]['ovrl'] for k in pool):.2f}, under {MIN_OVRL}: {', '.join(low) or 'none'}; "
          f"mean WER {np.mean([e for k in pool for e in b.rows[k]['errs'] for _ in range(count[k])]):.3f}")
    if kept:
        print(f"car + kept blends: {len(distinct(b, pool + [k for k, _, _ in kept]))} distinct")
        print("\n# kept blends (weights as recorded in the registry)")
        for key, lang, opts in kept:
            print(json.dumps({**opts, "lang": lang}))


def taxi_zh(b: Bench, texts: list[str]) -> None:
    """taxi_zh's Mandarin voices as the planner draws them: who speaks zh-CN, and Whisper base CER."""
    from collections import Counter

    pl, tasks = planned("taxi_zh", 100)
    zh = [t.voice for t in tasks if t.voice["accent"] == "zh-CN"]
    backends = Counter(v["backend"] for v in zh)
    print(f"\n# taxi_zh: zh-CN clips of 100 planned items by backend: {dict(backends)}")
    errs = []
    for vid, voice in {v["id"]: v for v in zh}.items():
        r = b.measure(vid, {k: voice[k] for k in ("id", "backend", "model", "options")}, texts, "zh")
        errs += r["errs"]
        print(f"{vid:30s} CER {r['err']:.3f}  clips over 0.25: {r['bad']}  OVRL {r['ovrl']:.2f}")
    print(f"taxi_zh: Whisper base CER over {len(errs)} clips ({len(texts)} sentences x {len(errs) // len(texts)} "
          f"voices): mean {np.mean(errs):.3f}, median {np.median(errs):.3f} (target <= 0.10)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--styles", default=str(ROOT / "voices" / "kokoro"), help="folder of <name>.bin style files")
    ap.add_argument("--n", type=int, default=6, help="sentences per voice")
    ap.add_argument("--blends", type=int, default=16, help="candidate English blends per accent (en-US; en-GB half)")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--blend-alpha", type=float, default=1.0, help="Dirichlet concentration of blend weights "
                    "(higher: more even weights)")
    ap.add_argument("--spread", type=int, default=0, help="blend this many far-apart voices of one gender "
                    "(pairwise cosine < 0.7) instead of 2-3 random ones")
    ap.add_argument("--cross-gender", action="store_true", help="blend one female and one male voice (gender "
                    "unknown in the registry) instead of voices of one gender")
    ap.add_argument("--mandarin", action="store_true", help="also the Mandarin voices (eSpeak vs misaki G2P)")
    ap.add_argument("--only", default="", help="comma-separated stock voice names (default: all)")
    ap.add_argument("--cache", default="/tmp/scenavox-kokoro-bench")
    ap.add_argument("--espeak", action="append", default=[], metavar="VOICE:VARIANT,...",
                    help="also measure eSpeak NG variants for an accent no natural voice covers, "
                         "e.g. en-029:f1,m3 (repeatable)")
    ap.add_argument("--car", action="store_true", help="only the default car pool as planned (see --plan-n, "
                    "--accent-langs, --accent-blends) and, with --mandarin, taxi_zh's Mandarin voices")
    ap.add_argument("--plan-n", type=int, default=200, help="items the voice planner plans for --car's shares")
    ap.add_argument("--accent-langs", default="", help="with --car: eSpeak NG English variants to read Kokoro "
                    "voices with, e.g. en-us-nyc,en-029")
    ap.add_argument("--accent-voices", default="af_heart,am_michael", help="with --accent-langs: stock styles to try "
                    "(name@lang: in that language only)")
    ap.add_argument("--measure-only", action="store_true", help="with --car: measure the --accent-langs trials "
                    "and blend candidates only (to fill the cache), no pool, no comparison")
    ap.add_argument("--prosody-swaps", type=int, default=0, help="with --car: candidate prosody swaps per "
                    "--accent-langs language (one voice's timbre, another's pitch and rhythm)")
    ap.add_argument("--accent-blends", type=int, default=0, help="with --car: candidate blends per --accent-langs "
                    "language")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    b = Bench(args)
    styles = Path(args.styles)
    en_texts = (CAR_SENTENCES * 2)[: args.n]
    zh_texts = (TAXI_ZH * 2)[: args.n]
    if args.car:
        car_pool(b, args, en_texts)
        if args.mandarin:
            taxi_zh(b, zh_texts)
        return
    names = [n for n in stock_voices(styles) if not args.only or n in args.only.split(",")]
    head = f"{'voice':44s} {'lng':3s} {'OVRL':>5s} {'WER':>6s} {'>.25':>3s} {'maxcos':>6s} {'nearest':30s} pass"

    # 1. reference voices already in the default pool (Piper joe, the eSpeak voices that keep their accents)
    from scenavox.voice.registry import load_registry

    reg = {v.id: v.model_dump(mode="json") for v in load_registry(str(ROOT / "voices" / "default.yaml"))}
    refs = [r for r in REFERENCES if r in reg]
    for rid in refs:
        b.measure(rid, reg[rid], en_texts, "en")

    # eSpeak variants for the accents that keep eSpeak (to pick the ones that sound best)
    espeak = []
    for spec in args.espeak:
        ev, variants = spec.split(":")
        for var in variants.split(","):
            key = f"espeak-{ev}-{var}"
            b.measure(key, {"id": key, "backend": "espeak", "model": "espeak-ng",
                            "options": {"espeak_voice": ev, "variant": var}}, en_texts, "en")
            espeak.append(key)
    if espeak:
        print("\n# eSpeak NG variants")
        print(head)
        for k in espeak:
            print(fmt(k, b.rows[k], b.max_cos(k, espeak + refs)), flush=True)

    # 2. stock Kokoro voices
    english = [n for n in names if n[0] in "abh"]
    for n in english:
        b.measure(n, voice_of(n, n[0]), en_texts, "en")
    if args.mandarin:
        for n in [n for n in names if n[0] == "z"]:
            b.measure(n, voice_of(n, "z"), zh_texts, "zh")
            if n in ("zf_xiaoxiao", "zm_yunxi"):  # the G2P comparison: two voices are enough
                b.measure(n + ":espeak-cmn", voice_of(n, "z"), zh_texts, "zh", raw_zh_espeak=True)
    stock = [n for n in names if n in b.rows]
    print("\n# stock voices (and reference voices from voices/default.yaml)")
    print(head)
    for k in refs + stock + [k for k in b.rows if k.endswith(":espeak-cmn")]:
        print(fmt(k, b.rows[k], b.max_cos(k, [x for x in refs + stock if b.rows[x]["lang"] == b.rows[k]["lang"]])),
              flush=True)

    # 3. blends of passing stock voices, one accent group at a time; kept when new and passing
    rng = np.random.default_rng(args.seed)
    # the reference voices are in the car pool whatever they score; stock voices only when they pass
    pool = refs + [k for k in stock if b.rows[k]["ok"]]
    kept: list[tuple[str, dict]] = []
    counts = {"a": args.blends, "b": args.blends // 2, "h": min(2, args.blends), "z": args.blends // 4}
    print("\n# blend candidates (seed %d): kept when passing and max cosine to the pool < %.2f" % (args.seed,
                                                                                                 SAME_SPEAKER))
    print(head)
    for g, count in counts.items():
        if g == "z" and not args.mandarin:
            continue
        parents = [n for n in stock if n[0] == g and b.rows[n]["ok"]]
        sim = lambda x, y: float(b.rows[x]["emb"] @ b.rows[y]["emb"])  # noqa: E731
        for blend in make_blends(rng, parents, count, args.blend_alpha, args.cross_gender, args.spread, sim):
            key = "+".join(f"{k}:{w:g}" for k, w in blend.items())
            r = b.measure(key, voice_of(blend, g), zh_texts if g == "z" else en_texts, "zh" if g == "z" else "en")
            same_lang = [k for k in pool if b.rows[k]["lang"] == r["lang"]]
            cos = b.max_cos(key, same_lang)
            keep = r["ok"] and cos[0] < SAME_SPEAKER
            print(fmt(key, r, cos, "KEEP" if keep else ""), flush=True)
            if keep:
                pool.append(key)
                kept.append((key, blend))

    # 4. the pool: distinct speakers among its English voices, and each voice's max cosine within it
    print("\n# pool: passing stock voices, reference voices and kept blends")
    print(head)
    for k in pool:
        same_lang = [x for x in pool if b.rows[x]["lang"] == b.rows[k]["lang"]]
        print(fmt(k, b.rows[k], b.max_cos(k, same_lang)))
    car = [k for k in pool if b.rows[k]["lang"] == "en" and k[0] != "h"]  # car's accents: no en-IN
    for lang, keys in (("en", [k for k in pool if b.rows[k]["lang"] == "en"]), ("car (en-US, en-GB, references)", car),
                       ("zh", [k for k in pool if b.rows[k]["lang"] == "zh"])):
        chosen: list[str] = []
        for k in keys:
            if all(float(b.rows[k]["emb"] @ b.rows[c]["emb"]) < SAME_SPEAKER for c in chosen):
                chosen.append(k)
        if keys:
            ovrl = [b.rows[k]["ovrl"] for k in keys]
            print(f"{lang}: {len(keys)} voices, {len(chosen)} distinct at cosine < {SAME_SPEAKER} (greedy); "
                  f"OVRL median of voice medians {np.median(ovrl):.2f}, min {min(ovrl):.2f}")
    print("\n# kept blends (weights as recorded in the registry)")
    for key, blend in kept:
        print(json.dumps(blend))
    total = sum(r["seconds"] for r in b.rows.values())
    print(f"\nmeasured {len(b.rows)} voices, {total / 60:.1f} min of audio, {args.n} sentences each")
    if math.isnan(total):
        sys.exit(1)


if __name__ == "__main__":
    main()
