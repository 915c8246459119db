"""The notebook API's players (the quickstart notebook plays a clip and its reply from a real build)."""

import pytest

from scenavox.api import RunResult
from scenavox.records import Clip

from .publish.conftest import sine_flac


def test_reply_audio_plays_the_reply_file_and_says_when_there_is_none(tmp_path):
    (tmp_path / "replies").mkdir()
    (tmp_path / "replies" / "r.flac").write_bytes(sine_flac(0.3))
    base = dict(triple_id="t", audio_path="audio/a.flac", text="Call Mom.", sample_rate=16000, duration_s=0.3,
                voice_id="v", accent="en-US", language="en", prosody={})
    run = RunResult(out=tmp_path, dataset=None, summary={},
                    clips=[Clip(id="a", reply_audio_path="replies/r.flac", **base), Clip(id="b", **base)])
    assert run.reply_audio(0).data == sine_flac(0.3)
    with pytest.raises(ValueError, match="clip 1 has no voiced reply"):
        run.reply_audio(1)
