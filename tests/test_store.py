import os
import subprocess
import sys

import pytest

from scenavox.errors import UserError
from scenavox.records import Command, Triple
from scenavox.store import Store, write_atomic


def test_atomic_write_leaves_no_temp(tmp_path):
    write_atomic(tmp_path / "a" / "b.json", "{}")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b.json"]


def test_records_round_trip_and_unreadable_is_missing(tmp_path):
    s = Store(tmp_path)
    t = Triple(id="abc", index=0, command=Command(intent="x", slots={"a": "1"}), utterance="u 1", reply="r")
    s.put("text", t)
    assert s.get("text", "abc", Triple) == t
    (tmp_path / "text" / "bad.json").write_text("{half")
    assert s.get("text", "bad", Triple) is None
    assert [r.id for r in s.iter_records("text", Triple)] == ["abc"]


def test_lock_is_exclusive_across_processes(tmp_path):
    s = Store(tmp_path)
    code = (
        "import sys, time; from scenavox.store import Store\n"
        f"with Store({str(tmp_path)!r}).lock():\n    print('locked', flush=True); time.sleep(30)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "locked"
        with pytest.raises(UserError, match="another scenavox run"):
            with s.lock():
                pass
    finally:
        p.kill()
        p.wait()
    with s.lock():  # released by the OS when the holder died
        pass


def test_lock_cleans_temp_files_of_a_killed_run(tmp_path):
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "x.json.tmp-123").write_text("partial")
    with Store(tmp_path).lock():
        assert not (tmp_path / "text" / "x.json.tmp-123").exists()
    assert os.path.exists(tmp_path / ".lock")


def test_paths_come_from_the_store(tmp_path):
    s = Store(tmp_path)
    assert Store.audio_rel("abc", "flac") == "audio/abc.flac" and Store.clean_rel("abc", "wav") == "clean/abc.wav"
    assert Store.reply_rel("r1", "flac") == "replies/r1.flac"
    assert Store.dialogue_rel("d1", "flac") == "dialogues/d1.flac" and Store.real_rel("x") == "real/x.flac"
    assert s.file(Store.audio_rel("abc", "flac")) == tmp_path / "audio" / "abc.flac"
    assert s.file(Store.qa_rel("summary.json")) == tmp_path / "qa" / "summary.json"
    assert (s.dataset_dir, s.report_dir, s.dialogues_dir, s.real_dir) == (
        tmp_path / "dataset", tmp_path / "report", tmp_path / "dialogues", tmp_path / "real")
    # record kinds and sound folders never share a folder
    folders = [Store.TEXT, Store.CLIPS, Store.AUDIO, Store.CLEAN, Store.REPLIES, Store.DIALOGUES, Store.REAL,
               Store.QUARANTINE, Store.QA, Store.DATASET, Store.REPORT]
    assert len(set(folders)) == len(folders) and Store.QA_RESULTS.startswith(Store.QA + "/")


def test_quarantine_lives_in_its_folder(tmp_path):
    from scenavox.records import Quarantined

    s = Store(tmp_path)
    s.quarantine(Quarantined(id="q1", stage="voice", reason="too short"))
    assert (tmp_path / "quarantine" / "voice" / "q1.json").is_file()
    assert s.quarantined("voice", "q1").reason == "too short"
    assert [q.id for q in s.iter_quarantine()] == ["q1"]
