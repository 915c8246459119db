"""Blend real recordings into the synthetic corpus, with speaker- and voice-disjoint splits.

Real speech comes from one source named by `scenario.mix.real`:
  - a local Hugging Face dataset folder: parquet files (Hub layout) or a `save_to_disk` folder;
  - an audiofolder: audio files next to `metadata.csv` / `metadata.jsonl` (file_name, transcription
    or text, speaker_id), at the top or in split sub-folders;
  - a NeMo/JSONL manifest: one JSON object a line (audio_filepath, text, duration, speaker);
    relative audio paths are resolved against the manifest's folder, as NeMo does;
  - a Hub dataset id, only when online (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE unset).

Audio is read with soundfile (never decoded through `datasets`, which needs torchcodec), mixed down
to mono, resampled to the corpus rate and encoded as FLAC. The transcript is kept as written
(`text`) and normalized (`text_normalized`, also added to synthetic rows).

Splitting and blending (`blend_rows`) is the dataset's one split assignment: synthetic rows are
split by the rule of `scenavox.splits`, then every split gets `synthetic_share[split]` of its
rows (or audio hours) from synthetic data and the rest from real speakers. Real speakers are
assigned to splits whole (no speaker in two splits), greedily by size within accent strata; rows
are then subsampled with an accent x intent interleave so labels stay balanced. When real data is
short the synthetic side of that split is subsampled instead, so the share holds; when a share
cannot be met the summary's `notes` say why. A dialogue's turns are split, moved and dropped
together. Everything is ordered by seeded hashes: same inputs and seed, same output.
"""

from __future__ import annotations

import csv
import json
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .audio import encode, probe, read_mono, resample
from .errors import UserError
from .real_source import locate_real, metadata_files
from .records import content_id
from .scenario import MixConfig, Scenario
from .splits import HELD_OUT_SPLIT, SPLITS, Member, assign_splits, same_speaker_voices, speaker_of

AUDIO_EXTS = (".wav", ".flac", ".ogg", ".mp3", ".opus", ".aiff", ".aif", ".au")

TEXT_DEFAULTS = ("text", "transcription", "sentence", "transcript", "normalized_text", "raw_text")
SPEAKER_DEFAULTS = ("speaker_id", "speaker", "client_id", "spk_id")
ACCENT_DEFAULTS = ("accent", "accents")
INTENT_DEFAULTS = ("intent",)
GENDER_DEFAULTS = ("gender",)
ID_DEFAULTS = ("id", "utt_id", "utterance_id", "audio_id")


# --- loading ----------------------------------------------------------------------------
@dataclass
class RealItem:
    """One real recording before selection; audio is read only for the rows that are kept."""

    key: str  # stable identifier inside the source (relative path or file:row)
    text: str
    speaker: str | None
    where: str  # for error messages
    audio: bytes | None = None
    audio_path: Path | None = None
    accent: str = ""
    intent: str = ""
    gender: str = ""
    duration_s: float = 0.0
    sample_rate: int = 0

    def read(self) -> tuple[np.ndarray, int]:
        """(mono samples, their rate)."""
        try:
            return read_mono(self.audio if self.audio is not None else str(self.audio_path))
        except Exception as exc:  # noqa: BLE001 - soundfile raises several types
            raise UserError(f"{self.where}: unreadable audio ({_first_line(exc)}); give WAV/FLAC/OGG files") from None


@dataclass
class RealSource:
    kind: str
    location: str
    name: str
    licence: str
    items: list[RealItem] = field(default_factory=list)


def _first_line(exc: BaseException) -> str:
    s = str(exc).strip().splitlines()
    return s[0] if s else type(exc).__name__


def _pick(columns: Iterable[str], given: str | None, defaults: tuple[str, ...], what: str, where: str,
          field_name: str, required: bool) -> str | None:
    cols = list(columns)
    if given is not None:
        if given not in cols:
            raise UserError(f"{where}: no {what} column '{given}' (mix.{field_name}); columns: {', '.join(cols)}")
        return given
    for d in defaults:
        if d in cols:
            return d
    if required:
        raise UserError(f"{where}: no {what} column (looked for {', '.join(defaults)}); set mix.{field_name}; "
                        f"columns: {', '.join(cols)}")
    return None


def _s(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list):  # e.g. Common Voice style lists
        return ",".join(str(x) for x in v)
    return str(v).strip()


class _Columns:
    def __init__(self, cfg: MixConfig, columns: Iterable[str], where: str, audio_defaults: tuple[str, ...]):
        cols = list(columns)
        self.audio = _pick(cols, cfg.audio_column, audio_defaults, "audio", where, "audio_column", True)
        self.text = _pick(cols, cfg.text_column, TEXT_DEFAULTS, "transcript", where, "text_column", True)
        self.speaker = _pick(cols, cfg.speaker_column, SPEAKER_DEFAULTS, "speaker", where, "speaker_column", False)
        self.accent = _pick(cols, cfg.accent_column, ACCENT_DEFAULTS, "accent", where, "accent_column", False)
        self.intent = _pick(cols, cfg.intent_column, INTENT_DEFAULTS, "intent", where, "intent_column", False)
        self.gender = _pick(cols, None, GENDER_DEFAULTS, "gender", where, "", False)
        self.id = _pick(cols, None, ID_DEFAULTS, "id", where, "", False)

    def item(self, row: dict[str, Any], key: str, where: str) -> RealItem:
        text = row.get(self.text)
        if text is None or not str(text).strip():
            raise UserError(f"{where}: empty transcript in column '{self.text}'")
        spk = _s(row.get(self.speaker)) if self.speaker else ""
        return RealItem(key=_s(row.get(self.id)) or key if self.id else key, text=str(text), speaker=spk or None,
                        where=where, accent=_s(row.get(self.accent)) if self.accent else "",
                        intent=_s(row.get(self.intent)) if self.intent else "",
                        gender=_s(row.get(self.gender)) if self.gender else "")


def _attach_audio(item: RealItem, value: Any, base: Path, col: str) -> None:
    """value: {bytes, path} (HF Audio), a path string, or raw bytes."""
    if isinstance(value, dict):
        if value.get("bytes"):
            item.audio = bytes(value["bytes"])
            return
        value = value.get("path")
    if isinstance(value, (bytes, bytearray)):
        item.audio = bytes(value)
        return
    if not value:
        raise UserError(f"{item.where}: no audio in column '{col}'")
    p = Path(str(value)).expanduser()
    p = p if p.is_absolute() else base / p
    if not p.is_file():
        raise UserError(f"{item.where}: audio file '{value}' not found (relative to {base})")
    item.audio_path = p


def _probe(item: RealItem) -> None:
    """Duration and rate from the header; unreadable audio is reported here, before any work."""
    try:
        frames, sr, _ = probe(item.audio if item.audio is not None else str(item.audio_path))
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"{item.where}: unreadable audio ({_first_line(exc)}); give WAV/FLAC/OGG files") from None
    item.duration_s = float(frames) / float(sr)
    item.sample_rate = sr


def _load_rows(rows: Iterable[dict[str, Any]], cfg: MixConfig, where: str, base: Path, key_prefix: str,
               audio_defaults: tuple[str, ...]) -> list[RealItem]:
    out: list[RealItem] = []
    cols: _Columns | None = None
    for k, row in enumerate(rows):
        if cols is None:
            cols = _Columns(cfg, row.keys(), where, audio_defaults)
        w = f"{where}: row {k}"
        item = cols.item(row, f"{key_prefix}:{k}", w)
        assert cols.audio is not None
        _attach_audio(item, row.get(cols.audio), base, cols.audio)
        out.append(item)
    return out


def _load_parquet(p: Path, cfg: MixConfig) -> list[RealItem]:
    import pyarrow.parquet as pq

    files = [p] if p.is_file() else sorted(p.rglob("*.parquet"))
    items: list[RealItem] = []
    for f in files:
        rel = f.name if p.is_file() else f.relative_to(p).as_posix()
        try:
            rows = pq.read_table(f).to_pylist()
        except Exception as exc:  # noqa: BLE001
            raise UserError(f"{f}: cannot read parquet ({_first_line(exc)})") from None
        items += _load_rows(rows, cfg, str(f), f.parent, rel, ("audio",))
    return items


def _dataset_rows(ds: Any, cfg: MixConfig) -> list[dict[str, Any]]:
    from datasets import Audio

    for name, feat in ds.features.items():
        if isinstance(feat, Audio):
            ds = ds.cast_column(name, Audio(decode=False))  # no torchcodec needed
    return ds.to_list()


def _load_disk(p: Path, cfg: MixConfig) -> list[RealItem]:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(p))
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"{p}: cannot load the save_to_disk dataset ({_first_line(exc)})") from None
    parts = loaded.items() if isinstance(loaded, datasets.DatasetDict) else [("data", loaded)]
    items: list[RealItem] = []
    for split, ds in parts:
        items += _load_rows(_dataset_rows(ds, cfg), cfg, f"{p} [{split}]", p, split, ("audio",))
    return items


def _load_audiofolder(p: Path, cfg: MixConfig) -> list[RealItem]:
    items: list[RealItem] = []
    for meta in metadata_files(p):
        if meta.suffix == ".csv":
            try:
                with meta.open(encoding="utf-8", newline="") as fh:
                    rows = list(csv.DictReader(fh))
            except (OSError, UnicodeDecodeError, csv.Error) as exc:
                raise UserError(f"{meta}: cannot read CSV ({_first_line(exc)})") from None
        else:
            rows = _read_jsonl(meta)
        rel = meta.parent.relative_to(p).as_posix()
        got = _load_rows(rows, cfg, str(meta), meta.parent, rel, ("file_name", "audio", "path"))
        for it, row in zip(got, rows):  # key = the audio path inside the folder: stable across edits
            if it.audio_path is not None and not any(c in row for c in ID_DEFAULTS):
                it.key = it.audio_path.relative_to(p).as_posix() if it.audio_path.is_relative_to(p) else str(it.audio_path)
        items += got
    return items


def _read_jsonl(f: Path) -> list[dict[str, Any]]:
    rows = []
    try:
        lines = f.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{f}: cannot read ({_first_line(exc)})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise UserError(f"{f}: line {n}: not a JSON object ({_first_line(exc)}); one JSON object per line") from None
        if not isinstance(obj, dict):
            raise UserError(f"{f}: line {n}: expected a JSON object, got {type(obj).__name__}")
        rows.append(obj)
    return rows


def _load_manifest(p: Path, cfg: MixConfig) -> list[RealItem]:
    rows = _read_jsonl(p)
    items = _load_rows(rows, cfg, str(p), p.parent, p.name, ("audio_filepath", "audio", "file_name", "path"))
    for it, row in zip(items, rows):
        if it.audio_path is not None and not any(c in row for c in ID_DEFAULTS):
            it.key = str(row.get(cfg.audio_column or "audio_filepath") or it.key)
    return items


def _load_hub(ref: str, cfg: MixConfig) -> list[RealItem]:
    import datasets

    try:
        loaded = datasets.load_dataset(ref, cfg.hub_config, split=cfg.hub_split)
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"Hub dataset '{ref}': cannot load ({_first_line(exc)})") from None
    parts = loaded.items() if isinstance(loaded, datasets.DatasetDict) else [(cfg.hub_split or "data", loaded)]
    items: list[RealItem] = []
    for split, ds in parts:
        items += _load_rows(_dataset_rows(ds, cfg), cfg, f"{ref} [{split}]", Path.cwd(), split, ("audio",))
    return items


def load_real(cfg: MixConfig, base_dir: Path | str = ".") -> RealSource:
    """Read the real source's metadata and audio headers (not the samples). Errors are one line."""
    kind, loc = locate_real(cfg, Path(base_dir))
    loader: Callable[[Any, MixConfig], list[RealItem]] = {
        "parquet": _load_parquet, "disk": _load_disk, "audiofolder": _load_audiofolder,
        "manifest": _load_manifest, "hub": _load_hub}[kind]
    items = loader(loc, cfg)
    if not items:
        raise UserError(f"real data '{cfg.real}' ({kind}) has no rows")
    seen: dict[str, RealItem] = {}
    for it in items:
        seen.setdefault(it.key, it)  # a file listed twice is one recording
    items = list(seen.values())
    for it in items:
        _probe(it)
    name = cfg.name or (Path(str(loc)).name if kind != "hub" else str(loc))
    return RealSource(kind=kind, location=str(loc), name=name, licence=cfg.licence, items=items)


# --- rows -----------------------------------------------------------------------------
def clean_text(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def real_row(item: RealItem, src: RealSource, scenario: Scenario, seed: int, sample_rate: int,
             audio_dir: Path | None = None) -> dict[str, Any]:
    """A dataset row for a real recording, with the synthetic rows' columns (missing ones None)."""
    from .row_schema import empty_row
    from .store import write_atomic
    from .text.normalize import normalize
    x, sr = item.read()
    y = resample(x, sr, sample_rate)
    data = encode(y, sample_rate, "flac")
    rid = "real-" + content_id("real", src.name, item.key, sample_rate)
    if audio_dir is not None:
        write_atomic(Path(audio_dir) / f"{rid}.flac", data)
    text = clean_text(item.text)
    spk = item.speaker or f"row:{item.key}"
    row = empty_row()  # the columns a real recording has no value for stay None
    row.update({
        "id": rid,
        "audio": {"bytes": None if audio_dir is not None else data, "path": f"{rid}.flac"},
        "text": text,
        "text_normalized": normalize(text),
        "intent": item.intent or None,
        "voice_id": f"real:{spk}",
        "accent": item.accent or None,
        "language": scenario.mix.language or scenario.primary_language,
        "gender": item.gender or None,
        "duration_s": round(len(y) / sample_rate, 4),
        "sample_rate": sample_rate,
        "source": "real",
        "scenario": scenario.name,
        "seed": seed,
        "provenance": json.dumps({"real": {
            "source": src.name, "location": src.location, "format": src.kind, "licence": src.licence or None,
            "original_id": item.key, "speaker": item.speaker, "original_text": item.text,
            "original_sample_rate": sr, "sample_rate": sample_rate}}, sort_keys=True, ensure_ascii=False),
    })
    return row


# --- blending -------------------------------------------------------------------------
@dataclass
class _Together:
    """Synthetic rows kept or dropped as one: the turns of a dialogue (labelled by its first turn)."""

    key: str
    rows: list[dict[str, Any]]


def _units(rows: list[dict[str, Any]]) -> list[Any]:
    """Rows as subsampling units: a one-turn row stays itself, a dialogue's turns become one _Together."""
    by_dialogue: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r.get("dialogue_id"):
            by_dialogue[r["dialogue_id"]].append(r)
    return [r for r in rows if not r.get("dialogue_id")] + [_Together(k, v) for k, v in by_dialogue.items()]


def _rows(units: list[Any]) -> list[dict[str, Any]]:
    return [r for u in units for r in (u.rows if isinstance(u, _Together) else [u])]


def _rid(x: Any) -> str:
    return x.key if isinstance(x, (RealItem, _Together)) else str(x["id"])


def _amount(x: Any, unit: str) -> float:
    if isinstance(x, _Together):
        return sum(_amount(r, unit) for r in x.rows)
    if unit == "rows":
        return 1.0
    return float(x.duration_s if isinstance(x, RealItem) else (x.get("duration_s") or 0.0))


def _label(x: Any, name: str) -> str:
    if isinstance(x, _Together):
        return _label(x.rows[0], name)
    return (getattr(x, name) if isinstance(x, RealItem) else x.get(name)) or ""


def _interleave(items: list[Any], by: list[str], seed: int, tag: str) -> list[Any]:
    """Seeded order in which every (accent, intent) group is spread evenly: a prefix of any
    length keeps the groups' proportions."""
    groups: dict[tuple[str, ...], list[Any]] = defaultdict(list)
    for it in items:
        groups[tuple(_label(it, b) for b in by)].append(it)
    keyed: list[tuple[float, str, str, Any]] = []
    for g, members in groups.items():
        members.sort(key=lambda it: content_id(tag, seed, _rid(it)))
        n = len(members)
        gk = content_id(tag, seed, "group", g)
        keyed += [((i + 0.5) / n, gk, _rid(it), it) for i, it in enumerate(members)]
    keyed.sort(key=lambda t: t[:3])
    return [t[3] for t in keyed]


def _take(items: list[Any], target: float, unit: str) -> list[Any]:
    """A prefix of `items` worth `target` (rows: round(target) items; hours, or rows kept together:
    the nearest total)."""
    if unit == "rows" and not any(isinstance(it, _Together) for it in items):
        return items[: max(0, round(target))]
    out, total = [], 0.0
    for it in items:
        d = _amount(it, unit)
        if total + d / 2 > target:
            break
        out.append(it)
        total += d
    return out


def _choose(names: list[str], want: dict[str, float], got: dict[str, float], amt: float) -> str | None:
    """The split a unit of size `amt` goes to: among splits still short, one it fits into, else
    any; the most short relative to its target first (so small splits are served early)."""
    short = [s for s in names if want[s] - got[s] > 1e-9]
    if not short:
        return None
    fits = [s for s in short if amt <= want[s] - got[s] + 1e-9]
    pool = fits or short
    return max(pool, key=lambda s: ((want[s] - got[s]) / want[s], -names.index(s)))


def _greedy(units: list[tuple[str, float, str]], targets: dict[str, float], seed: int, tag: str,
            fill_all: bool = False) -> dict[str, str]:
    """Assign units (id, amount, stratum) to splits: biggest first, each to the split with the
    largest remaining deficit, stratum by stratum so strata spread over splits. A unit no split
    needs stays unassigned unless fill_all."""
    out: dict[str, str] = {}
    names = [s for s in SPLITS if targets.get(s, 0) > 0]
    if not names:
        return out
    total = sum(a for _, a, _ in units) or 1.0
    strata: dict[str, list[tuple[str, float, str]]] = defaultdict(list)
    for u in units:
        strata[u[2]].append(u)
    got = {s: 0.0 for s in names}
    want_total = sum(targets[s] for s in names)
    scale = min(1.0, total / want_total) if want_total else 1.0
    leftovers: list[tuple[str, float, str]] = []
    for st in sorted(strata, key=lambda s: content_id(tag, seed, "stratum", s)):
        members = sorted(strata[st], key=lambda u: (-u[1], content_id(tag, seed, u[0])))
        share = sum(a for _, a, _ in members) / total
        sgot = {s: 0.0 for s in names}
        for uid, amt, _ in members:
            best = _choose(names, {s: targets[s] * scale * share for s in names}, sgot, amt)
            if best is None:
                leftovers.append((uid, amt, st))
                continue
            out[uid] = best
            sgot[best] += amt
            got[best] += amt
    for uid, amt, _ in sorted(leftovers, key=lambda u: (-u[1], content_id(tag, seed, u[0]))):
        best = _choose(names, {s: targets[s] * scale for s in names}, got, amt)
        if best is None:
            if not fill_all:
                continue
            best = min(names, key=lambda s: (got[s] / targets[s], names.index(s)))
        out[uid] = best
        got[best] += amt
    return out


def _assign_synthetic(rows: list[dict[str, Any]], split_shares: dict[str, float], seed: int,
                      held_out: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The synthetic rows per split by the one rule of `scenavox.splits` (held-out voices to test,
    a dialogue's turns together, the rest cut by the shares); rows keep their order in a split."""
    split_of = assign_splits([Member.of_row(r) for r in rows], split_shares, seed, held_out)
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    for r in rows:
        out[split_of[r["id"]]].append(r)
    return out


def _share(syn: float, real: float) -> float:
    return round(syn / (syn + real), 4) if syn + real > 0 else 0.0


def blend_rows(synthetic_rows: list[dict[str, Any]], scenario: Scenario, seed: int, sample_rate: int, *,
               real: RealSource | None = None, audio_dir: Path | None = None
               ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """Split the synthetic rows and blend the scenario's real source in: the dataset's one split
    assignment (every configuration and manifest takes the splits from what this returns).

    synthetic_rows: as `publish.export.build_rows` gives them (rows of one dialogue carry its
    `dialogue_id` and stay in one split). `real` overrides loading `scenario.mix.real`.
    With `audio_dir`, real FLAC files are written there and rows carry no bytes (audio path
    `<id>.flac`). Returns (rows per split, mix summary).
    """
    from .text.normalize import normalize

    cfg = scenario.mix
    synthetic_rows = list(synthetic_rows)
    # a held-out voice's other accents are the same person: they stay out of training too
    held_out = same_speaker_voices(synthetic_rows, scenario.voices.held_out)
    syn = _assign_synthetic(synthetic_rows, scenario.size.splits, seed, held_out)
    for rows in syn.values():
        for r in rows:
            r.setdefault("text_normalized", normalize(str(r.get("text") or "")))
    if real is None and cfg.real is not None:
        real = load_real(cfg, scenario.base_dir())
    if real is None:
        summary = _summary(syn, {s: [] for s in SPLITS}, None, cfg, {s: 1.0 for s in SPLITS}, "rows", 0, 0, [])
        summary["notes"].insert(0, "no real data (mix.real not set): the corpus is synthetic only")
        if cfg.synthetic_share or cfg.hours:
            summary["notes"].append("mix.synthetic_share / mix.hours are ignored without mix.real")
        return syn, summary

    unit = cfg.unit
    shares = cfg.shares()
    sizes = {s: float(scenario.size.splits.get(s, 0.0)) for s in SPLITS}
    size_total = sum(sizes.values()) or 1.0
    active = [s for s in SPLITS if sizes[s] > 0 or syn[s]]
    notes: list[str] = []
    all_syn = [r for s in SPLITS for r in syn[s]]
    syn_total = sum(_amount(r, unit) for r in all_syn)
    planned = {s: syn_total * sizes[s] / size_total for s in SPLITS}
    dropped = 0

    # 1. synthetic splits: voice-disjoint if asked; rows of real-only splits move to splits that take synthetic
    takes_syn = [s for s in active if shares[s] > 0]
    if cfg.voice_disjoint:
        fixed = {s: [r for r in syn[s] if r.get("voice_id") in held_out] for s in SPLITS}
        free = [r for r in all_syn if r.get("voice_id") not in held_out]
        # disjoint by speaker, not by voice id: one timbre in two accents is two ids and one person
        speaker = [speaker_of(r) for r in free]  # parsed once: provenance is JSON
        voice_amt: Counter[str] = Counter()
        for r, who in zip(free, speaker):
            voice_amt[who] += _amount(r, unit)
        targets = {s: sizes[s] for s in takes_syn if not (held_out and s == HELD_OUT_SPLIT)}
        where = _greedy([(v, a, "") for v, a in voice_amt.items()],
                        {s: planned[s] for s in targets}, seed, "voice-split", fill_all=True)
        syn = {s: fixed[s] + [r for r, who in zip(free, speaker) if where.get(who) == s] for s in SPLITS}
        lost = sum(1 for who in speaker if who not in where)
        if lost:
            dropped += lost
            notes.append(f"voice-disjoint: {lost} synthetic row(s) dropped: no split takes their voices")
        empty = [s for s in targets if not any(r for r in syn[s])]
        if empty:
            notes.append(f"voice-disjoint: {len(voice_amt)} synthetic speaker(s) cannot fill {', '.join(empty)}; "
                         "those splits have no synthetic rows")
    else:
        for s in active:
            if shares[s] > 0 or not syn[s]:
                continue
            movable = [r for r in syn[s] if r.get("voice_id") not in held_out]
            dest = [d for d in takes_syn if d != s]
            if movable and dest:
                wsum = sum(sizes[d] for d in dest) or 1.0
                for r in movable:  # seeded, proportional to the split sizes; a dialogue moves whole
                    u = int(content_id("move", seed, r.get("dialogue_id") or r["id"]), 16) / 16 ** 16 * wsum
                    acc = 0.0
                    for d in dest:
                        acc += sizes[d]
                        if u < acc or d == dest[-1]:
                            syn[d].append(r)
                            break
                syn[s] = [r for r in syn[s] if r.get("voice_id") in held_out]
    for s in SPLITS:
        if shares[s] == 0 and syn[s]:
            dropped += len(syn[s])
            notes.append(f"{s}: {len(syn[s])} synthetic row(s) dropped: the split is real only"
                         + (" and they are held-out voices" if any(r.get("voice_id") in held_out for r in syn[s]) else ""))
            syn[s] = []

    # 2. how much real each split wants
    want: dict[str, float] = {}
    syn_amt = {s: sum(_amount(r, unit) for r in syn[s]) for s in SPLITS}
    for s in SPLITS:
        p = shares[s]
        if s not in active:
            want[s] = 0.0
        elif cfg.hours.get(s):
            want[s] = (1 - p) * cfg.hours[s] * 3600
        elif p >= 1:
            want[s] = 0.0
        elif p <= 0:
            want[s] = planned[s]
        else:
            want[s] = syn_amt[s] * (1 - p) / p

    # 3. real speakers -> splits (whole speakers), then a balanced subsample per split
    stratify = list(cfg.stratify_by)
    by_speaker: dict[str, list[RealItem]] = defaultdict(list)
    no_speaker = 0
    for it in real.items:
        if it.speaker is None:
            no_speaker += 1
        by_speaker[it.speaker or f"row:{it.key}"].append(it)
    if no_speaker:
        notes.append(f"{no_speaker} real row(s) have no speaker id: each counts as its own speaker")
    units = []
    for spk, items in by_speaker.items():
        accents = Counter(i.accent for i in items if i.accent)
        stratum = accents.most_common(1)[0][0] if ("accent" in stratify and accents) else ""
        units.append((spk, sum(_amount(i, unit) for i in items), stratum))
    where_spk = _greedy(units, want, seed, "speaker-split")
    real_sel: dict[str, list[RealItem]] = {}
    for s in SPLITS:
        pool = [i for spk, items in by_speaker.items() if where_spk.get(spk) == s for i in items]
        order = _interleave(pool, stratify, seed, f"real-{s}")
        real_sel[s] = _take(order, want[s], unit) if want[s] > 0 else []

    # 4. synthetic side: keep the share where real fell short, or meet an hours target
    for s in active:
        p = shares[s]
        r_amt = sum(_amount(i, unit) for i in real_sel[s])
        target = syn_amt[s]
        if cfg.hours.get(s):
            target = min(target, p * cfg.hours[s] * 3600)
        if 0 < p < 1 and r_amt > 0:
            target = min(target, r_amt * p / (1 - p))
        elif 0 < p < 1 and syn[s]:  # better a synthetic-only split than an empty one
            notes.append(f"{s}: no real speaker left for this split: it keeps its synthetic rows only")
        if target < syn_amt[s] - 1e-9:
            order = _interleave(_units(syn[s]), stratify, seed, f"syn-{s}")
            keep = _rows(_take(order, target, unit))
            dropped += len(syn[s]) - len(keep)
            syn[s] = keep

    used = sum(len(v) for v in real_sel.values())
    # 5. rows, and the summary
    out: dict[str, list[dict[str, Any]]] = {}
    for s in SPLITS:
        rows = syn[s] + [real_row(i, real, scenario, seed, sample_rate, audio_dir) for i in real_sel[s]]
        out[s] = sorted(rows, key=lambda r: r["id"])
    summary = _summary(syn, real_sel, real, cfg, shares, unit, dropped, len(real.items) - used, notes)
    for s in active:
        st = summary["splits"][s]
        if not st["rows"]:
            notes.append(f"{s}: empty: no synthetic rows and no real speaker left for it")
        elif abs(st["synthetic_share"] - shares[s]) > 0.01:
            notes.append(f"{s}: realized synthetic share {st['synthetic_share']:.3f} differs from the requested "
                         f"{shares[s]:.2f} by more than 1 point ({st['real_speakers']} real speaker(s), "
                         f"{st['real_rows']} real and {st['synthetic_rows']} synthetic rows available)")
    return out, summary


def _summary(syn: dict[str, list[dict[str, Any]]], real_sel: dict[str, list[RealItem]], real: RealSource | None,
             cfg: MixConfig, shares: dict[str, float], unit: str, dropped: int, unused: int,
             notes: list[str]) -> dict[str, Any]:
    splits = {}
    spk_sets: dict[str, set[str]] = {}
    voice_sets: dict[str, set[str]] = {}
    for s in SPLITS:
        sh = sum(float(r.get("duration_s") or 0) for r in syn[s]) / 3600
        rh = sum(i.duration_s for i in real_sel[s]) / 3600
        spk_sets[s] = {i.speaker or f"row:{i.key}" for i in real_sel[s]}
        voice_sets[s] = {str(r.get("voice_id")) for r in syn[s]}
        ns, nr = len(syn[s]), len(real_sel[s])
        splits[s] = {
            "rows": ns + nr, "synthetic_rows": ns, "real_rows": nr,
            "synthetic_hours": round(sh, 4), "real_hours": round(rh, 4),
            "synthetic_share": _share(ns, nr) if unit == "rows" else _share(sh, rh),
            "synthetic_share_rows": _share(ns, nr), "synthetic_share_hours": _share(sh, rh),
            "requested_share": shares[s] if real is not None else None,
            "real_speakers": len(spk_sets[s]), "synthetic_voices": len(voice_sets[s]),
        }
    def disjoint(sets: dict[str, set[str]]) -> bool:
        return all(not (sets[a] & sets[b]) for i, a in enumerate(SPLITS) for b in SPLITS[i + 1:])
    ns = sum(v["synthetic_rows"] for v in splits.values())
    nr = sum(v["real_rows"] for v in splits.values())
    return {
        "mode": "synthetic_only" if real is None else "blended",
        "real_source": None if real is None else {"name": real.name, "format": real.kind, "location": real.location,
                                                  "licence": real.licence or None, "rows": len(real.items)},
        "unit": unit,
        "splits": splits,
        "synthetic_rows": ns, "real_rows": nr, "synthetic_share": _share(ns, nr),
        "synthetic_dropped": dropped, "real_unused": unused,
        "speaker_disjoint": disjoint(spk_sets), "voice_disjoint": disjoint(voice_sets),
        "notes": notes,
    }


def real_clip_stubs(rows_by_split: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Clip records for the real rows whose FLAC the exporter wrote to the store (the manifests need them)."""
    from .records import Clip
    from .store import Store

    out = {}
    for rows in rows_by_split.values():
        for r in rows:
            if r.get("source") != "real":
                continue
            out[r["id"]] = Clip(id=r["id"], triple_id="", audio_path=Store.real_rel(r["id"]), text=r["text"],
                                sample_rate=int(r["sample_rate"]), duration_s=float(r["duration_s"]),
                                voice_id=r["voice_id"], accent=r.get("accent") or "", language=r.get("language") or "",
                                prosody={}, provenance={"source": "real"})
    return out
