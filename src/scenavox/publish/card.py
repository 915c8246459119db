"""The dataset card (README.md): YAML metadata the Hub reads, and a body people read.

The card answers four questions: what is this, how was it made, may I train on it, and what
is synthetic. Everything it says is computed from the exported rows (their provenance
columns) and the scenario, so it cannot drift from the data.

The YAML `license` is the most restrictive licence among the voices, TTS engines and text
models that produced the rows (a GPL engine makes the corpus `gpl-3.0`, also inside an SPDX
`MIT AND GPL-3.0-or-later`; a non-commercial voice makes it non-commercial). The machine-readable
disclosure lives under `synthetic_data`, the compliance answers under `compliance`.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any, Iterable

from ..scenario import OutputForm, Scenario
from ..splits import SPLITS
from .. import row_schema as schema

GENERATOR = "scenavox"

# Licence -> (Hub licence id, restrictiveness rank). Higher rank = more restrictive.
# Unknown licences rank above everything: we cannot vouch for them, so the card says `other`.
_LICENCES: dict[str, tuple[str, int]] = {
    "cc0-1.0": ("cc0-1.0", 0), "cc0": ("cc0-1.0", 0), "unlicense": ("unlicense", 0), "pddl": ("pddl", 0),
    "public-domain": ("cc0-1.0", 0),
    "mit": ("mit", 1), "apache-2.0": ("apache-2.0", 1), "bsd-2-clause": ("bsd-2-clause", 1),
    "bsd-3-clause": ("bsd-3-clause", 1), "isc": ("isc", 1), "cc-by-3.0": ("cc-by-3.0", 1),
    "cc-by-4.0": ("cc-by-4.0", 1), "odc-by": ("odc-by", 1), "zlib": ("zlib", 1),
    "cc-by-sa-3.0": ("cc-by-sa-3.0", 2), "cc-by-sa-4.0": ("cc-by-sa-4.0", 2), "mpl-2.0": ("mpl-2.0", 2),
    "lgpl-2.1": ("lgpl-2.1", 2), "lgpl-3.0": ("lgpl-3.0", 2), "odbl": ("odbl", 2),
    "gpl-2.0": ("gpl-2.0", 3), "gpl-3.0": ("gpl-3.0", 3),
    "agpl-3.0": ("agpl-3.0", 4), "openrail": ("openrail", 4), "cc-by-nd-4.0": ("cc-by-nd-4.0", 4),
    "cc-by-nc-2.0": ("cc-by-nc-2.0", 5), "cc-by-nc-3.0": ("cc-by-nc-3.0", 5), "cc-by-nc-4.0": ("cc-by-nc-4.0", 5),
    "cc-by-nc-sa-3.0": ("cc-by-nc-sa-3.0", 6), "cc-by-nc-sa-4.0": ("cc-by-nc-sa-4.0", 6),
    "cc-by-nc-nd-4.0": ("cc-by-nc-nd-4.0", 7),
}
# Non-commercial licences the Hub has no id for: `other` + a name.
_NAMED_NONCOMMERCIAL = {"cpml": "coqui-public-model-license", "coqui-public-model-license": "coqui-public-model-license",
                        "coqui-cpml": "coqui-public-model-license"}
_UNKNOWN_RANK = 8
# Licences of text models we ship or know, used when a row's provenance does not record one
# (matched as a substring of the lower-cased model name or path).
KNOWN_MODEL_LICENCES = {"smollm2": "Apache-2.0", "smollm": "Apache-2.0", "qwen2.5": "Apache-2.0",
                        "mistral-7b": "Apache-2.0", "phi-3": "MIT", "phi-4": "MIT"}
_NONCOMMERCIAL_OTHER_RANK = 6


def normalize_licence(raw: str | None) -> tuple[str, int, str | None] | None:
    """A licence string -> (hub id, rank, license_name for `other`); None for an empty value."""
    if raw is None:
        return None
    s = str(raw).strip().lower().replace(" ", "-").replace("_", "-")
    if not s or s in {"none", "unknown", "n/a"}:
        return None
    if "-and-" in s:  # an SPDX conjunction (engine + phonemizer): every part applies, so the strictest one rules
        parts = [n for n in (normalize_licence(p) for p in s.split("-and-")) if n is not None]
        return max(parts, key=lambda n: n[1]) if parts else None
    for suffix in ("-or-later", "-only", "+"):
        s = s.removesuffix(suffix)
    if s in _LICENCES:
        hub_id, rank = _LICENCES[s]
        return hub_id, rank, None
    if s in _NAMED_NONCOMMERCIAL:
        return "other", _NONCOMMERCIAL_OTHER_RANK, _NAMED_NONCOMMERCIAL[s]
    if "nc" in s.split("-") or "non-commercial" in s or "noncommercial" in s:
        return "other", _NONCOMMERCIAL_OTHER_RANK, s
    return "other", _UNKNOWN_RANK, s


def _known_model_licence(model: str) -> str | None:
    m = model.lower()
    for key, lic in KNOWN_MODEL_LICENCES.items():
        if key in m:
            return lic
    return None


def licence_sources(rows: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """Every licence that touched the rows: what it covers, the component and the licence string."""
    seen: dict[tuple[str, str, str], None] = {}
    for r in rows:
        prov = _provenance(r)
        clip = prov.get("clip", {}) if isinstance(prov.get("clip"), dict) else {}
        text = prov.get("text", {}) if isinstance(prov.get("text"), dict) else {}
        voice = r.get("voice_id") or clip.get("voice_id") or ""
        if r.get("voice_licence") or clip.get("voice_licence"):
            seen[("voice", str(voice), str(r.get("voice_licence") or clip.get("voice_licence")))] = None
        if clip.get("engine_licence"):
            engine = r.get("tts_backend") or clip.get("tts_backend") or ""
            seen[("tts engine", str(engine), str(clip["engine_licence"]))] = None
        reply = clip.get("reply_voice") if isinstance(clip.get("reply_voice"), dict) else {}
        if reply.get("voice_licence"):  # the assistant voice that spoke the replies
            seen[("voice", str(reply.get("id", "")), str(reply["voice_licence"]))] = None
        if reply.get("engine_licence"):
            seen[("tts engine", str(reply.get("tts_backend", "")), str(reply["engine_licence"]))] = None
        tl = _known_model_licence(str(r.get("text_model") or text.get("text_model") or ""))
        if tl:
            seen[("text model", str(r.get("text_model") or text.get("text_model") or ""), str(tl))] = None
        real = prov.get("real") if isinstance(prov.get("real"), dict) else {}
        if real.get("licence"):
            seen[("real recordings", str(real.get("source") or ""), str(real["licence"]))] = None
    return [{"covers": c, "component": comp, "licence": lic} for c, comp, lic in seen]


def most_restrictive_licence(sources: list[dict[str, str]]) -> tuple[str, str | None]:
    """(Hub licence id, license_name or None). No recorded licence at all -> ('unknown', None)."""
    best: tuple[str, int, str | None] | None = None
    for s in sources:
        norm = normalize_licence(s["licence"])
        if norm is not None and (best is None or norm[1] > best[1]):
            best = norm
    if best is None:
        return "unknown", None
    return best[0], best[2]


def size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"),
                        (1_000_000_000, "100M<n<1B")):
        if n < limit:
            return name
    return "n>1T" if n > 1_000_000_000_000 else "1B<n<10B"


def _provenance(row: dict[str, Any]) -> dict[str, Any]:
    p = row.get("provenance")
    if isinstance(p, dict):
        return p
    if isinstance(p, str) and p:
        try:
            out = json.loads(p)
            return out if isinstance(out, dict) else {}
        except ValueError:
            return {}
    return {}


def _numeric_summary(values: list[float]) -> dict[str, float]:
    vals = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return {}
    return {"mean": round(sum(vals) / len(vals), 4), "min": round(min(vals), 4), "max": round(max(vals), 4),
            "n": len(vals)}


_ACOUSTIC_COLUMNS = ("snr_db", "noise_type", "noise_file", "rir", "codec", "acoustics_preset")


def qa_from_rows(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Summaries of the qa_* columns if the rows carry any."""
    if not rows:
        return {}
    cols = [c for c in rows[0] if c.startswith("qa_")]
    out = {}
    for c in cols:
        vals = [r.get(c) for r in rows if isinstance(r.get(c), (int, float)) and not isinstance(r.get(c), bool)]
        s = _numeric_summary(vals)
        if s:
            out[c] = s
    return out


def _acoustics_from_rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in _ACOUSTIC_COLUMNS:
        vals = [r.get(c) for r in rows if r.get(c) not in (None, "")]
        if not vals:
            vals = []
            for r in rows:
                prov = _provenance(r)
                ac = prov.get("acoustics")
                if isinstance(ac, dict) and ac.get(c) not in (None, ""):
                    vals.append(ac[c])
        if not vals:
            continue
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            out[c] = _numeric_summary(vals)
        else:
            out[c] = dict(Counter(str(v) for v in vals).most_common(8))
    return out


def _language_codes(scenario: Scenario, rows: list[dict[str, Any]]) -> list[str]:
    codes = [str(r.get("language") or "").split("-")[0].lower() for r in rows]
    codes += [lang.language.split("-")[0].lower() for lang in scenario.languages]
    return sorted({c for c in codes if c})


def card_metadata(scenario: Scenario, rows_by_split: dict[str, list[dict[str, Any]]], *,
                  dataset_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """The card's YAML as a plain dict (DatasetCardData keyword arguments)."""
    rows = [r for s in SPLITS for r in rows_by_split.get(s, [])]
    n = len(rows)
    licence, licence_name = most_restrictive_licence(licence_sources(rows))
    synthetic = sum(1 for r in rows if (r.get("source") or "synthetic") == "synthetic")
    voiced_replies = scenario.output_form in (OutputForm.voiced_replies, OutputForm.both)
    tasks = ["automatic-speech-recognition"] + (["text-to-speech"] if voiced_replies else [])
    c = scenario.compliance
    meta: dict[str, Any] = {
        "pretty_name": f"{scenario.name} (synthetic speech, scenavox)",
        "license": licence,
        "language": _language_codes(scenario, rows),
        "task_categories": tasks,
        "size_categories": [size_category(n)],
        "tags": sorted({"synthetic", "speech", "audio", "scenavox", "tts-generated", f"scenario-{scenario.name}",
                        scenario.noise.environment.value.replace("_", "-")}),
        "annotations_creators": ["machine-generated"],
        "language_creators": ["machine-generated"],
        "multilinguality": ["multilingual" if len(_language_codes(scenario, rows)) > 1 else "monolingual"],
        "source_datasets": ["original"],
        "configs": [{
            "config_name": "default",
            "data_files": [{"split": s, "path": f"data/{s}-*"} for s in SPLITS if rows_by_split.get(s)],
        }],
        "synthetic_data": {
            "contains_synthetic_data": synthetic > 0,
            "synthetic_audio": synthetic > 0,
            "synthetic_text": synthetic > 0,
            "synthetic_rows": synthetic,
            "real_rows": n - synthetic,
            "synthetic_share": round(synthetic / n, 4) if n else 0.0,
            "audio_method": "text-to-speech",
            "text_method": "language model writing planned commands",
            "generator": GENERATOR,
            "row_field": "source",
        },
        "compliance": {
            "purpose": c.purpose,
            "retention": c.retention,
            "consent": c.consent,
            "training_use": bool(c.training_use),
            "region_notes": c.region_notes,
            "cloud_upload": scenario.privacy.cloud_upload,
            "voice_cloning": scenario.privacy.voice_cloning,
            "children_data": scenario.privacy.children_data,
        },
    }
    if licence == "other" and licence_name:
        meta["license_name"] = licence_name
    if dataset_info:
        meta["dataset_info"] = dataset_info
    return meta


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def _six_answers(sc: Scenario) -> list[list[str]]:
    langs = []
    for lang in sc.languages:
        acc = ", ".join(f"{a.accent} ({a.weight:g})" for a in lang.accents)
        langs.append(f"{lang.language} (weight {lang.weight:g})" + (f": {acc}" if acc else ""))
    r = sc.interaction_rhythm
    rhythm = r.mode.value + ("" if r.max_turns == 1 else f", {r.min_turns}-{r.max_turns} turns")
    noise = f"{sc.noise.environment.value}, SNR {sc.noise.min_snr_db:g}-{sc.noise.max_snr_db:g} dB"
    if sc.noise.description:
        noise += f" ({sc.noise.description.strip()})"
    p = sc.privacy
    privacy = (f"cloud upload {'allowed' if p.cloud_upload else 'not allowed'}; voice cloning "
               f"{'allowed' if p.voice_cloning else 'not allowed'}; children's data {'yes' if p.children_data else 'no'}"
               + (f"; authorization: {p.authorization}" if p.authorization else ""))
    return [
        ["Output form", sc.output_form.value],
        ["Interaction rhythm", rhythm],
        ["Environmental noise", noise],
        ["Languages and accents", "; ".join(langs)],
        ["Privacy and authorization", privacy],
        ["Failure cost", sc.failure_cost.value],
    ]


def espeak_only_accents(voices: Iterable[dict[str, Any]]) -> list[str]:
    """The accents whose every voice (with rows) is an eSpeak NG voice."""
    backends: dict[str, set[str]] = {}
    for v in voices:
        if v.get("accent"):
            backends.setdefault(str(v["accent"]), set()).add(str(v.get("backend")))
    return sorted(a for a, b in backends.items() if b == {"espeak"})


def card_body(scenario: Scenario, rows_by_split: dict[str, list[dict[str, Any]]], meta: dict[str, Any], *,
              qa: dict[str, Any] | None = None, run_config: dict[str, Any] | None = None,
              columns: list[str] | None = None) -> str:
    """columns: the dataset's columns (row_schema.py); default: the declared columns the rows have."""
    sc = scenario
    rows = [r for s in SPLITS for r in rows_by_split.get(s, [])]
    n = len(rows)
    syn = meta["synthetic_data"]
    hours = sum(float(r.get("duration_s") or 0) for r in rows) / 3600
    out: list[str] = [f"# {sc.name}: synthetic speech corpus", ""]
    out += [
        "> **Synthetic data disclosure.** "
        + (f"All {n} recordings in this dataset are synthetic: the audio was produced by text-to-speech "
           "voices, not recorded from people, and the text was written by a language model. No real person "
           "spoke these words." if syn["real_rows"] == 0 else
           f"{syn['synthetic_rows']} of {n} recordings ({syn['synthetic_share']:.0%}) are synthetic (text-to-speech "
           f"audio, language-model text); {syn['real_rows']} are real recordings. The `source` column says which.")
        + " The YAML field `synthetic_data` states the same in machine-readable form.",
        "",
        sc.description.strip(),
        "",
        "## The scenario",
        "",
        "The corpus was generated from the scenario in `scenario.yaml`, which answers six questions:",
        "",
        _table(["question", "answer"], _six_answers(sc)),
        "",
        "Intents: " + ", ".join(f"`{i.name}`" for i in sc.intents) + ".",
        "",
        "## How it was made",
        "",
        "Text is generated command-first: a planner samples an intent and slot values with balanced coverage, "
        "then a language model writes the user's words and the assistant's reply for that command. The "
        "`intent` and `slots` columns are therefore exact labels, not guesses.",
        "",
    ]
    real_rows = [r for r in rows if r.get("source") == "real"]
    gen_rows = [r for r in rows if r.get("source") != "real"]  # the tables below describe generated rows
    text_models = Counter((r.get("text_backend") or "?", r.get("text_model") or "?") for r in gen_rows)
    out += ["**Text generation**", "",
            _table(["backend", "model", "rows"], [[b, m, k] for (b, m), k in sorted(text_models.items())]), ""]
    voices: dict[str, dict[str, Any]] = {}
    for r in gen_rows:
        clip = _provenance(r).get("clip", {})
        v = voices.setdefault(str(r.get("voice_id") or "?"), {
            "backend": r.get("tts_backend") or "?", "model": r.get("tts_model") or "?",
            "accent": r.get("accent") or "", "gender": r.get("gender") or "",
            "licence": r.get("voice_licence") or "unrecorded",
            "engine": (clip.get("engine_licence") if isinstance(clip, dict) else "") or "unrecorded", "n": 0,
            "about": (clip.get("description") if isinstance(clip, dict) else "") or ""})
        v["n"] += 1
    out += ["**Speech synthesis** (voices, their licences and the licence of the TTS engine)", "",
            _table(["voice", "backend", "model", "accent", "gender", "voice licence", "engine licence", "rows"],
                   [[k, v["backend"], v["model"], v["accent"], v["gender"], v["licence"], v["engine"], v["n"]]
                    for k, v in sorted(voices.items())]), ""]
    notes = [f"- `{k}`: {v['about']}" for k, v in sorted(voices.items()) if v["about"]]
    if notes:  # what a voice is where its accent tag alone would claim more
        out += ["What some voices are:", "", *notes, ""]
    replies: dict[str, dict[str, Any]] = {}
    for r in gen_rows:
        clip = _provenance(r).get("clip", {})
        rv = clip.get("reply_voice") if isinstance(clip, dict) else None
        if isinstance(rv, dict) and rv.get("id"):
            replies[str(rv["id"])] = rv
    for k, rv in sorted(replies.items()):  # the device's voice is in no row's voice_id
        about = str(rv.get("description") or "").strip().rstrip(".")
        out += [f"The assistant's replies are spoken by `{k}` ({rv.get('tts_backend', '?')}, "
                f"{rv.get('tts_model', '?')})" + (f": {about}." if about else "."), ""]
    formant_only = espeak_only_accents(voices.values())
    if formant_only:  # a model trained on these accents learns eSpeak NG's formant synthesis, not people
        out += ["Accents spoken only by eSpeak NG (formant synthesis, robotic; no natural voice covers them "
                "here): " + ", ".join(formant_only) + ".", ""]
    if real_rows:
        srcs = Counter((str(_provenance(r).get("real", {}).get("source") or "?"),
                        str(_provenance(r).get("real", {}).get("licence") or "unrecorded")) for r in real_rows)
        speakers = {r.get("voice_id") for r in real_rows}
        out += ["**Real recordings** blended in (`source` = real; speakers never share a split)", "",
                _table(["source", "licence", "rows"], [[a, b, k] for (a, b), k in sorted(srcs.items())]), "",
                f"{len(real_rows)} rows from {len(speakers)} speakers, {_duration(sum(float(r.get('duration_s') or 0) for r in real_rows))}.", ""]
    pros = {k: _numeric_summary([r.get(k) for r in rows]) for k in ("rate", "level_dbfs")}
    if any(pros.values()):
        out += ["Prosody varies per clip: " + "; ".join(
            f"{k} {s['min']:g} to {s['max']:g} (mean {s['mean']:g})" for k, s in pros.items() if s) + ".", ""]
    # acoustics
    ac = sc.acoustics
    out += ["## Acoustics", "",
            f"Target environment: {sc.noise.environment.value}, SNR {sc.noise.min_snr_db:g}-{sc.noise.max_snr_db:g} dB"
            f"; acoustic simulation {'enabled' if ac.enabled else 'disabled'}"
            + (f" (preset {ac.preset})" if ac.preset else "") + f"; sample rate {sc.audio.sample_rate} Hz, "
            f"{sc.audio.format.upper()}.", ""]
    acoustics = _acoustics_from_rows(rows)
    if acoustics:
        out += [_table(["parameter", "values"], [[k, json.dumps(v, sort_keys=True)] for k, v in acoustics.items()]), ""]
    else:
        out += ["The rows record no noise, reverberation or channel parameters: the audio is the clean "
                "synthesizer output.", ""]
    # composition
    replied = sum(float(r.get("reply_duration_s") or 0) for r in rows)
    split_rows = [[s, len(rows_by_split.get(s, [])),
                   _duration(sum(float(r.get("duration_s") or 0) for r in rows_by_split.get(s, [])))]
                  for s in SPLITS if rows_by_split.get(s)]
    out += ["## Composition", "",
            _table(["split", "rows", "duration"], split_rows), "",
            f"Total: {n} rows, {_duration(hours * 3600)}. Synthetic/real: {syn['synthetic_rows']}/{syn['real_rows']} "
            f"(synthetic share {syn['synthetic_share']:.0%})."
            + (f" The `reply_audio` column adds {_duration(replied)} of the assistant's voiced replies."
               if replied else ""), ""]
    if sc.voices.held_out:
        from ..splits import same_speaker_voices

        also = sorted(same_speaker_voices(rows, sc.voices.held_out) - set(sc.voices.held_out))
        out += ["Voices kept for the test split only: " + ", ".join(sc.voices.held_out)
                + (f" (and the same speakers under other voice ids, in other accents: {', '.join(also)})" if also else "")
                + ".", ""]
    # QA
    qa_all = dict(qa or {})
    from_rows = qa_from_rows(rows)
    out += ["## Quality checks", ""]
    if qa_all or from_rows:
        if qa_all:
            out += ["```json", json.dumps(qa_all, indent=2, sort_keys=True, default=str), "```", ""]
        if from_rows:
            out += [_table(["metric", "mean", "min", "max", "rows"],
                           [[k, v["mean"], v["min"], v["max"], v["n"]] for k, v in from_rows.items()]), ""]
    else:
        out += ["No QA summary was recorded for this export (round-trip recognition was not run).", ""]
    out += labels_section(rows)
    # compliance
    c = sc.compliance
    out += ["## Compliance", "",
            _table(["", ""], [
                ["Purpose", c.purpose or "not stated"],
                ["Retention", c.retention or "not stated"],
                ["Consent", c.consent or "not stated"],
                ["May be used for training", "yes" if c.training_use else "no"],
                ["Region notes", c.region_notes or "none"],
                ["Synthetic", "yes: text-to-speech audio and language-model text"
                 + ("" if syn["real_rows"] == 0 else f" ({syn['synthetic_share']:.0%} of rows)")],
            ]), ""]
    # licence
    lic = meta["license"] + (f" ({meta['license_name']})" if meta.get("license_name") else "")
    srcs = licence_sources(rows)
    out += ["## Licence", "",
            f"`{lic}`: the most restrictive licence among the voices, engines and models that produced the rows.", ""]
    if srcs:
        out += [_table(["covers", "component", "licence"], [[s["covers"], s["component"], s["licence"]] for s in srcs]),
                ""]
    # columns and reproduction
    if rows:
        columns = columns or schema.columns_for({k for r in rows for k in r})
        sound = set(schema.audio_columns(columns))
        out += ["## Columns", "", ", ".join(f"`{k}`" for k in columns if k not in sound)
                + ", and `audio` (the encoded sound). "
                + ("`reply_audio` is the assistant's reply as the device speaks it (the assistant voice, clean; "
                   "empty on real rows). " if "reply_audio" in sound else "")
                + "`provenance` is JSON with every parameter of the clip.", ""]
    seed = (run_config or {}).get("seed", sc.seed)
    out += ["## Reproduce", "",
            f"`scenario.yaml` and `run_config.json` ship with the data. `scenavox corpus --scenario scenario.yaml "
            f"--seed {seed}` rebuilds the corpus with the same backends and models.", ""]
    return "\n".join(out)


def labels_section(rows: list[dict[str, Any]]) -> list[str]:
    """Whether the labels were judged (text/judge/: does each utterance ask for its command, does each
    reply confirm it), what the judge turned away while writing these rows, and how varied the
    utterances are (text/diversity.py)."""
    from ..text.diversity import diversity

    if not rows:
        return []
    judged = [_provenance(r).get("text", {}).get("judge") for r in rows]
    judged = [j for j in judged if isinstance(j, dict)]
    templ = sum(1 for r in rows if _provenance(r).get("text", {}).get("reply_source") == "template")
    out = ["## Labels: faithfulness and variety", ""]
    if judged:
        cands = sum(int(j.get("judged", 0)) for j in judged)
        ru = sum(int(j.get("judge_rejected_utterances", 0)) for j in judged)
        rr = sum(int(j.get("judge_rejected_replies", 0)) for j in judged)
        out += [f"{len(judged)} of {len(rows)} rows passed the faithfulness judge ({judged[0].get('version')}): "
                "an offline check, independent of the text model, that the utterance asks for the labelled "
                "intent with its slot values and that the reply confirms it. While writing them, the judge "
                f"turned away {ru} of {cands} candidate utterances ({ru / max(1, cands):.0%}) and {rr} replies "
                f"({rr / max(1, cands):.0%}). The judge is imperfect: held out on a hand-labelled audit set it "
                "finds about 9 in 10 bad utterances and fewer bad replies.", ""]
    else:
        out += ["The labels were not checked by the faithfulness judge (`text.judge.enabled: false`).", ""]
    if templ:
        out += [f"{templ} of {len(rows)} replies come from the scenario's reply templates (`intents[].replies`): "
                "faithful by construction, less varied than written replies.", ""]
    d = diversity(rows)
    out += [_table(["intent", "rows", "distinct-1", "distinct-2", "most common wording (values masked)", "share"],
                   [[k, v["items"], v["distinct_1"], v["distinct_2"], v["top_pattern"], f"{v['top_pattern_share']:.0%}"]
                    for k, v in d["intents"].items()]
                   + [["all", d["all"]["items"], d["all"]["distinct_1"], d["all"]["distinct_2"], "", ""]]), ""]
    return out


def build_card(scenario: Scenario, rows_by_split: dict[str, list[dict[str, Any]]], *,
               dataset_info: dict[str, Any] | None = None, qa: dict[str, Any] | None = None,
               run_config: dict[str, Any] | None = None, extra_metadata: dict[str, Any] | None = None,
               dialogues: dict[str, Any] | None = None, columns: list[str] | None = None):
    """A huggingface_hub DatasetCard for the rows (audio bytes are not needed).

    dialogues: publish/dialogues.py's summary when a `dialogues` configuration was written.
    columns: the dataset's columns in order (default: the declared columns the rows have)."""
    from huggingface_hub import DatasetCard, DatasetCardData

    meta = card_metadata(scenario, rows_by_split, dataset_info=dataset_info)
    if dialogues:
        meta["configs"].append(dialogues["config"])
    data = DatasetCardData(**{**(extra_metadata or {}), **meta})
    body = card_body(scenario, rows_by_split, meta, qa=qa, run_config=run_config, columns=columns)
    if dialogues:
        from .dialogues import card_section

        body = body.rstrip("\n") + "\n\n" + card_section(dialogues)
    return DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{body}")


def merge_card_metadata(existing: dict[str, Any] | None, ours: dict[str, Any]) -> dict[str, Any]:
    """Our fields replace the Hub's; fields only the Hub card has stay (someone set them there)."""
    merged = dict(existing or {})
    merged.update({k: v for k, v in ours.items() if v is not None})
    if ours.get("license") != "other":  # a licence name only qualifies `other`
        merged.pop("license_name", None)
        merged.pop("license_link", None)
    return merged
