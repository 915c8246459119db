"""End to end: the default car corpus through the CLI; wall time, peak RSS of the whole
process tree, where the time went (per stage) and the waste (items tried per utterance kept,
QA pass rate), and time(2N)/time(N) to check that the cost per utterance stays flat.

The pair is N=100 and the default N=200 with the same seed: both runs draw from one seed
family, so a lucky or unlucky QA pass rate in one of them does not decide the ratio (two
different seeds did, by up to 20%, in earlier benches)."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import ROOT, bench_corpus_dir, result


def tree_rss_mb(pid: int, each: dict[int, float] | None = None) -> float:
    """RSS of pid and all its descendants, from /proc. each: filled with every process's RSS (MB)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        stack.extend(children.get(p, []))
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    kb = int(line.split()[1])
                    total += kb
                    if each is not None:
                        each[p] = kb / 1024
        except OSError:
            pass
    return total / 1024


def _role(pid: int) -> str:
    """What a process of the build is: the driver, or a worker (what its pool runs is not in its command line)."""
    try:
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"
    return "worker" if "multiprocessing" in cmd else "driver" if "corpus" in cmd else cmd[:40]


def corpus(n: int, seed: int, out: Path | None = None, scenario: str = "car") -> tuple[float, float, dict]:
    """Build the corpus from nothing and time it (into `out`, emptied first: a folder with items in it
    would be resumed, not built). Prints what made up the peak RSS: each process's RSS at that moment."""
    if out is None:
        out = Path(tempfile.mkdtemp()) / "car"
    elif out.exists():
        shutil.rmtree(out)
    scenavox = str(Path(sys.executable).with_name("scenavox"))
    t0 = time.perf_counter()
    proc = subprocess.Popen([scenavox, "corpus", "--scenario", scenario, "--n", str(n), "--seed", str(seed), "--out",
                             str(out), "-q"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    peak = [0.0]
    at_peak: list[str] = []

    def watch() -> None:
        while proc.poll() is None:
            each: dict[int, float] = {}
            total = tree_rss_mb(proc.pid, each)
            if total > peak[0]:
                peak[0] = total
                at_peak[:] = [f"at {time.perf_counter() - t0:.0f} s"] + [
                    f"{_role(p)} {mb:.0f}" for p, mb in sorted(each.items(), key=lambda kv: -kv[1]) if mb >= 20]
            time.sleep(0.25)

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    stdout, _ = proc.communicate()
    wall = time.perf_counter() - t0
    th.join()
    print(f"  peak RSS {peak[0]:.0f} MB {at_peak[0] if at_peak else ''}: " + ", ".join(at_peak[1:]), flush=True)
    if proc.returncode != 0:
        raise SystemExit(f"corpus run failed ({proc.returncode}):\n{stdout}")
    import json

    summary = json.loads((out / "run.json").read_text())
    return wall, peak[0], summary


def waste(s: dict) -> str:
    """Where the time went and what was thrown away, from run.json."""
    st = s["stages"]
    busy = ", ".join(f"{k} {v['busy_s']:.0f} s" + (f" ({v['cpu_s']:.0f} s CPU)" if "cpu_s" in v else "")
                     for k, v in st.items())
    tried = s["planned"]["tried"]
    qa = s.get("qa") or {}
    checked, dropped = qa.get("checked") or 0, qa.get("dropped") or 0
    pass_rate = f"{1 - dropped / checked:.0%}" if checked else "-"
    return (f"busy: {busy}; text items tried per utterance kept {tried / max(1, s['utterances']):.2f}; "
            f"text set aside {st['text']['quarantined']}; QA pass rate {pass_rate} ({checked} checked); "
            f"machine speed: {voice_rate(s):.3f} voice CPU-s per s of speech")


def voice_rate(s: dict) -> float:
    """CPU seconds of the voice stage per second of user speech: the same work per second whatever N, so
    a change of it between the N and 2N builds is the machine's speed changing (shared machines drift by
    20-30% within one bench: session 16's 2N build ran at 1.27x the N build's voice CPU per clip)."""
    return s["stages"]["voice"]["cpu_s"] / max(1.0, 60 * s["audio_minutes"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200, help="utterances in the default corpus (0: skip that run)")
    ap.add_argument("--scale-n", type=int, default=100,
                    help="N for the time(2N)/time(N) pair, same seed as the default run (0: skip the pair)")
    ap.add_argument("--seed", type=int, default=7, help="the car scenario's own seed by default")
    ap.add_argument("--scenario", default="car", help="a scenario name or YAML file (default: car, the issue's bar)")
    args = ap.parse_args()
    runs: dict[int, float] = {}
    summaries: dict[int, dict] = {}
    if args.n:
        # kept for bench_downstream.py (the default scenario's build only)
        out = bench_corpus_dir(args.n, args.seed) if args.scenario == "car" else None
        wall, peak, s = corpus(args.n, seed=args.seed, out=out, scenario=args.scenario)
        runs[args.n], summaries[args.n] = wall, s
        print(f"car corpus n={args.n}: {wall:.1f} s wall, peak RSS {peak:.0f} MB, {s['utterances']} utterances, "
              f"{s['audio_minutes']} min of user speech + {s.get('reply_audio_minutes') or 0} min of voiced replies"
              f"\n  {waste(s)}", flush=True)
        result("default car corpus wall time", wall, "<= 300", wall <= 300, unit="s", utterances=s["utterances"],
               audio_minutes=s["audio_minutes"], reply_audio_minutes=s.get("reply_audio_minutes") or 0)
        result("default car corpus peak RSS", peak, "<= 3072", peak <= 3072, unit="MB")
    if args.scale_n:
        for n in (args.scale_n, 2 * args.scale_n):
            if n not in runs:
                runs[n], _, s = corpus(n, seed=args.seed, scenario=args.scenario)
                summaries[n] = s
                print(f"car corpus n={n}: {runs[n]:.1f} s wall\n  {waste(s)}", flush=True)
        t1, t2 = runs[args.scale_n], runs[2 * args.scale_n]
        print(f"time(N={args.scale_n}) {t1:.1f} s, time(2N) {t2:.1f} s")
        drift = voice_rate(summaries[2 * args.scale_n]) / voice_rate(summaries[args.scale_n])
        result("time(2N) / time(N)", t2 / t1, "<= 2.1", t2 / t1 <= 2.1, n=args.scale_n,
               machine_drift=round(drift, 3))  # the 2N build's voice CPU per speech second over the N build's
        dry_run_accuracy(summaries[2 * args.scale_n], args.scale_n, t1, args.scenario)


def dry_run_accuracy(summary: dict, n: int, measured: float, scenario: str = "car") -> None:
    """What `scenavox corpus --dry-run` would have said for the n build, from the rates of the 2n build (the
    path a user's second build takes), over what the n build took."""
    from scenavox.estimate import estimate, rates_from_summary
    from scenavox.scenario import load_scenario

    sc = load_scenario(scenario)
    said = estimate(sc, n, rates_from_summary(summary, "the 2N build"), workers=None)["wall_s"]
    print(f"--dry-run for N={n} from the 2N build's rates: {said:.0f} s; the N build took {measured:.0f} s")
    result("--dry-run estimate / measured, N", said / measured, "0.8-1.25", 0.8 <= said / measured <= 1.25, n=n)


if __name__ == "__main__":
    main()
