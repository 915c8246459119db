"""report/index.html (self-contained: plots are base64 PNGs) and report/report.json."""

from __future__ import annotations

import base64
import html
import io
import json
from collections import defaultdict
from typing import Any

import numpy as np

from ..scenario import Scenario
from ..store import Store, write_atomic
from .checks import checks


def check_rows(results: list[Any], summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """The registered checks' rows for the summary table, in their order."""
    return [row for c in checks() for row in c.report(results, summary)]


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=72, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _hist(values: list[float], title: str, xlabel: str, line: float | None = None) -> str | None:
    import matplotlib.pyplot as plt

    v = [x for x in values if x is not None]
    if not v:
        return None
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.hist(v, bins=min(30, max(5, len(v) // 3)), color="#4c72b0")
    if line is not None:
        ax.axvline(line, color="#c44e52", linestyle="--", label="threshold")
        ax.legend()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("clips")
    return _png(fig)


def _bars_by(groups: dict[str, dict[str, Any]], key: str, title: str, ylim: tuple[float, float] | None = None
             ) -> str | None:
    import matplotlib.pyplot as plt

    items = [(k, g[key]) for k, g in groups.items() if g.get(key) is not None]
    if not items:
        return None
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * len(items) + 2), 3))
    ax.bar([k for k, _ in items], [v for _, v in items], color="#55a868")
    ax.set_title(title)
    if ylim:
        ax.set_ylim(*ylim)
    ax.tick_params(axis="x", rotation=45)
    for label in ax.get_xticklabels():
        label.set_ha("right")
    return _png(fig)


def _balance(block: dict[str, Any], title: str) -> str | None:
    import matplotlib.pyplot as plt
    import numpy as np

    rows = block.get("shares", {})
    if not rows:
        return None
    keys = list(rows)
    x = np.arange(len(keys))
    fig, ax = plt.subplots(figsize=(max(4, 0.8 * len(keys) + 2), 3))
    ax.bar(x - 0.2, [rows[k]["target"] for k in keys], 0.4, label="target", color="#8172b2")
    ax.bar(x + 0.2, [rows[k]["actual"] for k in keys], 0.4, label="actual", color="#ccb974")
    ax.set_xticks(x, keys, rotation=45, ha="right")
    ax.set_title(f"{title} (TVD {block.get('total_variation', 0):.3f})")
    ax.legend()
    return _png(fig)


def _by_source(results: list[Any], attr: str, label: str) -> str | None:
    """Overlaid distributions per source (synthetic / real); only when both are present."""
    import matplotlib.pyplot as plt

    groups: dict[str, list[float]] = defaultdict(list)
    for r in results:
        v = getattr(r, attr)
        if v is not None:
            groups[r.source].append(v)
    if len(groups) < 2:
        return None
    fig, ax = plt.subplots(figsize=(5, 3))
    for name, vals in sorted(groups.items()):
        ax.hist(vals, bins=20, alpha=0.5, density=True, label=f"{name} ({len(vals)})")
    ax.set_xlabel(label)
    ax.set_title(f"{label}: synthetic vs real")
    ax.legend()
    return _png(fig)


def _clean_vs_noisy(results: list[Any]) -> str | None:
    """DNSMOS OVRL of the clean copies (the voices) over that of the clips as they are (the scene)."""
    import matplotlib.pyplot as plt

    clean = [r.clean_dnsmos_ovrl for r in results if getattr(r, "clean_dnsmos_ovrl", None) is not None]
    noisy = [r.dnsmos_ovrl for r in results if r.dnsmos_ovrl is not None]
    if not clean:
        return None
    fig, ax = plt.subplots(figsize=(5, 3))
    bins = np.linspace(1.0, 5.0, 33)
    ax.hist(clean, bins=bins, alpha=0.6, label=f"clean ({len(clean)})", color="#55a868")
    ax.hist(noisy, bins=bins, alpha=0.6, label=f"noisy ({len(noisy)})", color="#c44e52")
    ax.set_xlabel("DNSMOS OVRL")
    ax.set_ylabel("clips")
    ax.legend()
    return _png(fig)


def _clean_mos_section(results: list[Any], summary: dict[str, Any]) -> list[str]:
    from .checks.dnsmos import mos_summary

    m = summary.get("clean_mos") or mos_summary(results)
    if not m.get("clips_with_clean"):
        return []
    rows = [[v, g["clips"], g["clean_ovrl_median"], g["clean_sig_median"], g["noisy_ovrl_median"]]
            for v, g in m["by_voice"].items()]
    return ["<h2>Speech quality: clean vs noisy (DNSMOS)</h2>",
            f"<p>DNSMOS OVRL median {m['clean_ovrl_median']} on the clean copies ({m['clips_with_clean']} clips: "
            f"the voices), {m['noisy_ovrl_median']} on the clips as they are in the corpus (the scene's noise "
            f"included). SIG median {m['clean_sig_median']} clean, {m['noisy_sig_median']} noisy.</p>",
            _table(["voice", "clips", "clean OVRL median", "clean SIG median", "noisy OVRL median"], rows)]


def _scatter(pairs: list[list[float]], title: str) -> str | None:
    import matplotlib.pyplot as plt

    if not pairs:
        return None
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.scatter([p[0] for p in pairs], [p[1] for p in pairs], s=10)
    lo = min(min(p) for p in pairs)
    hi = max(max(p) for p in pairs)
    ax.plot([lo, hi], [lo, hi], color="grey", linestyle=":")
    ax.set_xlabel("target SNR (dB)")
    ax.set_ylabel("measured SNR (dB)")
    ax.set_title(title)
    return _png(fig)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if c is None else str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(v: Any) -> Any:
    return round(v, 3) if isinstance(v, float) else v


def build_plots(results: list[Any], summary: dict[str, Any]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg", force=True)
    th = summary["thresholds"]
    plots = {
        "Durations": _hist([r.duration_s for r in results], "clip duration", "seconds"),
        "Speaking rate": _hist([r.words_per_s for r in results], "speaking rate", "words per second of speech"),
        "WER": _hist([r.wer for r in results], "word error rate (round trip)", "WER", th["max_wer"]),
        "DNSMOS": _hist([r.dnsmos_ovrl for r in results], "DNSMOS OVRL (naturalness proxy)", "MOS"),
        "DNSMOS: clean vs noisy clips": _clean_vs_noisy(results),
        "WER by voice": _bars_by(summary["by_voice"], "wer", "mean WER by voice"),
        "WER by accent": _bars_by(summary["by_accent"], "wer", "mean WER by accent"),
        "Entity recall by voice": _bars_by(summary["by_voice"], "entity_recall", "entity recall by voice", (0, 1.05)),
        "Entity recall by accent": _bars_by(summary["by_accent"], "entity_recall", "entity recall by accent",
                                            (0, 1.05)),
        "WER by noise": _bars_by(summary["by_noise"], "wer", "mean WER by noise"),
        "Entity recall by noise": _bars_by(summary["by_noise"], "entity_recall", "entity recall by noise", (0, 1.05)),
        "Synthetic vs real: WER": _by_source(results, "wer", "WER"),
        "Synthetic vs real: DNSMOS": _by_source(results, "dnsmos_ovrl", "DNSMOS OVRL"),
        "Synthetic vs real: speaking rate": _by_source(results, "words_per_s", "words/s"),
        "Accent balance": _balance(summary["balance"]["accents"], "accents: target vs actual"),
        "Intent balance": _balance(summary["balance"]["intents"], "intents: target vs actual"),
        "Voice balance": _balance(summary["balance"]["voices"], "voices: even share vs actual"),
        "SNR target vs measured": _scatter(summary["audio"]["snr_target_vs_measured"], "SNR target vs measured"),
    }
    return {k: v for k, v in plots.items() if v}


def render_html(scenario: Scenario, results: list[Any], summary: dict[str, Any], plots: dict[str, str],
                labels: dict[str, Any] | None = None) -> str:
    ent = summary["entity_recall"]
    head = [
        ["clips checked", summary["clips"]], ["passed", summary["passed"]], ["failed", summary["failed"]],
        ["failure cost", summary["failure_cost"]], ["recognizer", summary["recognizer"]],
        *[[label, value] for label, value in check_rows(results, summary)],
        ["distinct voice ids", summary["balance"]["distinct_voice_ids"]],
        ["audibly distinct speakers (embeddings)", summary.get("speakers", {}).get("distinct_speakers", "not run")],
        ["off-topic reply rate", summary.get("replies", {}).get("off_topic_rate", "not run")],
        ["accent balance TVD", summary["balance"]["accents"]["total_variation"]],
        ["intent balance TVD", summary["balance"]["intents"]["total_variation"]],
    ]
    text = summary["text"]
    text_rows = [[k, _fmt(v)] for k, v in text.items()]
    slot_rows = [[k, v["recall"], v["n"]] for k, v in ent["by_slot"].items()]
    group_rows = defaultdict(list)
    for what in ("by_voice", "by_accent", "by_intent", "by_noise", "by_source"):
        for k, g in summary[what].items():
            group_rows[what].append([k, g["clips"], _fmt(g["wer"]), _fmt(g["entity_recall"]), _fmt(g["pass_rate"]),
                                     _fmt(g["dnsmos_ovrl"]), _fmt(g["words_per_s"])])
    fails = [[r.id, r.voice_id, r.reference, r.transcript, "; ".join(r.reasons)] for r in results if not r.passed]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>scenavox QA: {html.escape(scenario.name)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:90%}"
        "th{background:#f3f3f3}.plots{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}"
        "figcaption{font-weight:bold}</style></head><body>",
        f"<h1>QA report: {html.escape(scenario.name)}</h1>",
        f"<p>{html.escape(scenario.description.strip())}</p>",
        "<h2>Summary</h2>", _table(["", ""], head),
        "<h2>Plots</h2><div class='plots'>",
        *[f"<figure><figcaption>{html.escape(k)}</figcaption><img alt='{html.escape(k)}' "
          f"src='data:image/png;base64,{v}'></figure>" for k, v in plots.items()],
        "</div>",
        "<h2>Entity stability by slot</h2>", _table(["slot", "recall", "entities"], slot_rows),
        "<h2>Entity stability by slot type</h2>",
        _table(["slot type", "recall", "entities"],
               [[k, v["recall"], v["n"]] for k, v in ent.get("by_type", {}).items()]),
    ]
    cols = ["", "clips", "WER", "entity recall", "pass rate", "DNSMOS OVRL", "words/s"]
    for what, title in (("by_voice", "By voice"), ("by_accent", "By accent"), ("by_intent", "By intent"),
                        ("by_noise", "By noise"), ("by_source", "Synthetic vs real")):
        parts += [f"<h2>{title}</h2>", _table(cols, group_rows[what])]
    parts += _clean_mos_section(results, summary)
    spk = summary.get("speakers") or {}
    if spk:
        parts += ["<h2>Speakers</h2>", f"<p>{spk['voice_ids']} voice ids sound like {spk['distinct_speakers']} "
                  f"distinct speaker(s) (centroid cosine similarity >= {spk['same_speaker_similarity']} is one "
                  f"speaker); effective number {spk['effective_speakers']}.</p>",
                  _table(["speaker", "voice ids"], [[i + 1, ", ".join(v)] for i, v in enumerate(spk["speakers"])])]
    parts += labels_html(summary.get("labels") or labels)
    parts += ["<h2>Text</h2>", _table(["check", "value"], text_rows),
              "<h2>Thresholds</h2>", _table(["threshold", "value"], [[k, v] for k, v in summary["thresholds"].items()]),
              f"<h2>Failing clips ({len(fails)})</h2>",
              _table(["clip", "voice", "text", "heard", "reasons"], fails) if fails else "<p>None.</p>"]
    out = summary.get("filtered_out")
    if out:
        rate_rows = [[v, g["checked"], g["passed"], g["pass_rate"]] for v, g in out["pass_rate_by_voice"].items()]
        drop_rows = [[d["id"], d["voice_id"], d["reference"], d["heard"], "; ".join(d["reasons"])] for d in out["list"]]
        parts += [f"<h2>Filtered out before export ({out['clips']})</h2>",
                  "<p>These clips failed QA and are not in the dataset (qa/failed.jsonl); the build planned "
                  "further items in their place.</p>",
                  _table(["voice", "checked", "passed", "pass rate"], rate_rows),
                  _table(["clip", "voice", "text", "heard (clean)", "reasons"], drop_rows)]
    parts += ["<h2>Not measured yet</h2><ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in summary["not_measured"])
              + "</ul>", "</body></html>"]
    return "\n".join(parts)


def labels_of(store: Store, results: list[Any]) -> dict[str, Any]:
    """What the faithfulness judge did for the checked clips' texts (summed from each text item's
    provenance, plus the text items it set aside) and how varied their utterances are."""
    from ..records import Triple
    from ..text.diversity import diversity

    counts: dict[str, int] = defaultdict(int)
    items = []
    for r in results:
        items.append({"intent": r.intent, "utterance": r.reference, "slots": dict(r.slots)})
        t = store.get(Store.TEXT, r.triple_id, Triple)
        j = (t.provenance.get("judge") if t is not None else None) or {}
        if j:
            counts["items_judged"] += 1
        for k in ("judged", "judge_rejected_utterances", "judge_rejected_replies"):
            counts[k] += int(j.get(k, 0))
    set_aside = sum(1 for q in store.iter_quarantine() if q.stage == "text" and q.reason.startswith("judge: "))
    judge = None
    if counts["items_judged"]:
        n = max(1, counts["judged"])
        judge = {"items judged": counts["items_judged"], "candidates judged": counts["judged"],
                 "utterances rejected": round(counts["judge_rejected_utterances"] / n, 4),
                 "replies rejected": round(counts["judge_rejected_replies"] / n, 4),
                 "text items set aside by the judge": set_aside}
    return {"judge": judge, "diversity": diversity(items) if items else None}


def labels_html(labels: dict[str, Any] | None) -> list[str]:
    """The judged rates and the variety of the utterances (labels_of)."""
    if not labels:
        return []
    parts = ["<h2>Labels: faithfulness and variety</h2>"]
    j = labels.get("judge")
    if j:
        parts.append(_table(["judge", "value"], [[k, _fmt(v)] for k, v in j.items()]))
    d = labels.get("diversity")
    if d:
        parts.append(_table(["intent", "items", "distinct-1", "distinct-2", "most common wording", "share"],
                            [[html.escape(k), v["items"], v["distinct_1"], v["distinct_2"], html.escape(v["top_pattern"]),
                              _fmt(v["top_pattern_share"])] for k, v in {**d["intents"], "all": d["all"]}.items()]))
    return parts


def write_report(store: Store, scenario: Scenario, results: list[Any], summary: dict[str, Any]) -> dict[str, str]:
    plots = build_plots(results, summary)
    try:
        labels = labels_of(store, results)
    except Exception as exc:  # noqa: BLE001 - a report section must not stop the report
        labels = {"judge": {"not measured": str(exc)}}
    page = render_html(scenario, results, summary, plots, labels)
    html_path, json_path = store.report_dir / "index.html", store.report_dir / "report.json"
    write_atomic(html_path, page)
    data = {"summary": summary, "labels": labels, "plots": sorted(plots),
            "clips": [r.model_dump(mode="json") for r in results]}
    write_atomic(json_path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")
    probe = store.root / "eval" / "results.json"  # a re-run QA keeps the probe's section of `scenavox eval`
    if probe.is_file():
        insert_eval_section(store, json.loads(probe.read_text(encoding="utf-8")))
    return {"html": str(html_path), "json": str(json_path)}


# --- the probe's section (`scenavox eval`), kept between markers so eval can refresh it alone ---
EVAL_START, EVAL_END = "<!-- scenavox-eval -->", "<!-- /scenavox-eval -->"


def eval_section(results: dict[str, Any], confusion_png: bytes | None) -> str:
    rows = [[f"({k}) {v['description']}", v["n"], v["accuracy"], v["error"], f"{v['error_ci95'][0]}-{v['error_ci95'][1]}"]
            for k, v in results["variants"].items()]
    parts = [EVAL_START, "<h2>Probe: does the corpus train a model that works on unseen voices?</h2>",
             f"<p>Intent probe ({html.escape(results['features'])} + {html.escape(results['head'])}) trained on "
             + (f"the other folds' rows (about {results['train_rows']} each) and tested on every synthetic row of "
                f"{len(results['held_out_speakers'])} speakers ({html.escape(results['held_out_from'])}, "
                f"{results['test_rows']} rows; intervals resample speakers). "
                if results.get("folds", 1) > 1 else
                f"{results['train_rows']} synthetic train rows, tested on {results['test_rows']} rows of held-out "
                f"voices ({html.escape(', '.join(results['held_out_voices']))}; "
                f"{html.escape(results['held_out_from'])}). ")
             + "A proxy, not your production model: see docs/eval.md.</p>",
             _table(["variant", "test clips", "accuracy", "error", "error 95% interval"], rows)]
    for key in ("b", "c"):
        rr = results.get(f"relative_error_reduction_d_over_{key}")
        if rr and rr.get("value") is not None:
            parts.append(f"<p>Relative error reduction of (d) over ({key}): {rr['value']} "
                         f"(95% interval {rr['low']} to {rr['high']}).</p>")
    d = results["variants"]["d"]
    for what in ("intent", "accent"):
        per = d.get(f"error_by_{what}", {})
        parts.append(_table([what, "test clips", "error"], [[k, g["n"], g["error"]] for k, g in per.items()]))
    if results.get("real"):
        parts.append(_table(["real source", "rows", "with intent", "error", "mean confidence"],
                            [[k, b["rows"], b["with_intent"], b.get("error"), b["mean_confidence"]]
                             for k, b in results["real"].items()]))
    if confusion_png:
        b64 = base64.b64encode(confusion_png).decode("ascii")
        parts.append(f"<figure><figcaption>Confusion matrix, (d) on held-out voices</figcaption>"
                     f"<img alt='confusion matrix' src='data:image/png;base64,{b64}'></figure>")
    parts.append(EVAL_END)
    return "\n".join(parts)


def insert_eval_section(store: Store, results: dict[str, Any]) -> None:
    """Put (or replace) the probe's section in report/index.html; a no-op without a report."""
    page_path = store.report_dir / "index.html"
    if not page_path.is_file():
        return
    png = store.root / "eval" / "confusion.png"
    section = eval_section(results, png.read_bytes() if png.is_file() else None)
    page = page_path.read_text(encoding="utf-8")
    if EVAL_START in page and EVAL_END in page:
        a, rest = page.split(EVAL_START, 1)
        page = a + section + rest.split(EVAL_END, 1)[1]
    else:
        page = page.replace("</body></html>", section + "\n</body></html>")
    write_atomic(page_path, page)
