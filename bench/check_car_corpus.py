"""Acceptance checks of a built car corpus, as a new user would make them (not part of make bench):

    python bench/check_car_corpus.py [outputs/car]

rows reload with `datasets`, audio decodes to a duration plausible for its words, every row has
its command, voice, accent and prosody, realized accent shares vs car's weights, the QA headline,
no QA-failed clip in the dataset, and the report's plots and filtered-out section."""
import io, json, sys, tempfile
from collections import Counter
from pathlib import Path
import soundfile as sf
from datasets import Audio, load_dataset

out = Path(sys.argv[1] if len(sys.argv) > 1 else "outputs/car")
ds = load_dataset(str(out / "dataset"), cache_dir=tempfile.mkdtemp())
rows = []
for split in ds:
    for r in ds[split].cast_column("audio", Audio(decode=False)):
        rows.append({**r, "split": split})
print("rows", len(rows), {s: len(ds[s]) for s in ds})
bad = []
for r in rows:
    x, sr = sf.read(io.BytesIO(r["audio"]["bytes"]))
    w = len(r["text"].split())
    d = len(x) / sr
    if not (0.12 * w < d < 1.0 * w + 1.5): bad.append((r["id"], r["text"], d))
    assert r["intent"] and json.loads(r["slots"]) is not None and r["provenance"] and r["voice_id"] and r["accent"]
    assert set(json.loads(r["provenance"])["prosody"]) >= {"rate", "pitch_semitones", "level_dbfs", "pause_ms"}
print("implausible durations:", bad)
acc = Counter(r["accent"] for r in rows)
w = {"en-US": .45, "en-GB": .25, "en-US-nyc": .15, "en-029": .15}
print("accent shares (realized vs target):", {a: (round(acc[a] / len(rows), 3), w[a]) for a in w},
      "max deviation", max(abs(acc[a] / len(rows) - w[a]) for a in w))
run = json.loads((out / "run.json").read_text())
qa = run["qa"]
print("summary:", {k: qa.get(k) for k in ("clean_wer_mean", "entity_recall", "off_topic_rate", "dnsmos_ovrl_mean",
                                          "distinct_speakers", "effective_speakers", "accent_balance_tvd")})
failed = {json.loads(l)["id"] for l in (out / "qa" / "failed.jsonl").read_text().splitlines()}
ids = {r["id"] for r in rows}
results = {json.loads(l)["id"]: json.loads(l) for l in (out / "qa" / "results.jsonl").read_text().splitlines()}
print("failed listed", len(failed), "in dataset", len(failed & ids), "dataset rows all passed:",
      all(r["qa_passed"] for r in rows))
page = (out / "report" / "index.html").read_text()
print("report plots", page.count("data:image/png;base64,"), "filtered section",
      "Filtered out before export" in page, "size KB", len(page) // 1024)
