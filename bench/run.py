"""Run every bench/bench_*.py and print one table of the RESULT lines they report.

Each benchmark measures its baseline in the same run (the machines are shared and noisy),
so the table shows ratios, not absolute speeds. Usage: `make bench` or
`python bench/run.py [name ...]` (e.g. `python bench/run.py voice acoustics`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    wanted = sys.argv[1:]
    scripts = sorted(p for p in HERE.glob("bench_*.py") if not wanted or p.stem.removeprefix("bench_") in wanted)
    rows, failed = [], []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        proc = subprocess.run([sys.executable, str(script)], cwd=HERE, capture_output=True, text=True)
        for line in proc.stdout.splitlines():
            if line.startswith("RESULT "):
                rows.append({"bench": script.stem, **json.loads(line[7:])})
            else:
                print("   " + line)
        if proc.returncode != 0:
            failed.append(script.name)
            print(proc.stderr[-3000:])
    print()
    print(f"{'benchmark':18s} {'what':42s} {'value':>10s} {'goal':>10s}  ok")
    for r in rows:
        ok = {True: "yes", False: "NO", None: "-"}[r["ok"]]
        print(f"{r['bench']:18s} {r['what']:42s} {r['value']:>9g}{r['unit']:1s} {r['goal']:>10s}  {ok}")
    if failed:
        print(f"failed to run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
