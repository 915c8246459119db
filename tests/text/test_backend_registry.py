"""Text backends by registry: registered once, listed by the command line and the scenario schema,
and a backend registered from a test module writes a corpus's text; no backend imports another."""

import ast
from pathlib import Path

import pytest

from scenavox.errors import UserError
from scenavox.api import build
from scenavox.cli import corpus, scenario_schema  # imported before any test registers a backend: its choices are the built-ins
from scenavox.scenario import load_scenario
from scenavox.text import backends
from scenavox.text.backends.fake import FakeBackend

from ..conftest import MINIMAL

SRC = Path(__file__).resolve().parents[2] / "src" / "scenavox"


class EchoBackend(FakeBackend):
    name = "echo"
    config_fields = ("temperature",)  # a TextConfig field it asks the stage for

    def __init__(self, model=None, temperature=None, **kw):
        super().__init__(model=model or "echo-1", **kw)
        self.temperature_seen = temperature


@pytest.fixture
def echo():
    backends.register("echo", EchoBackend)
    yield EchoBackend
    backends.unregister("echo")


def test_the_command_line_and_the_schema_list_the_registered_backends(echo):
    option = next(p for p in corpus.params if p.name == "text_backend")
    assert list(option.type.choices) == ["local", "fake", "openai", "transformers"]  # the built-in lines
    schema = scenario_schema()["$defs"]["TextConfig"]["properties"]["backend"]
    assert schema["enum"] == backends.names() == ["local", "fake", "openai", "transformers", "echo"]
    assert schema["default"] == "local"
    assert [n for n in backends.names() if backends.is_remote(n)] == ["openai"]


def test_a_backend_registered_from_a_test_module_writes_the_text(echo, tmp_path, fake_registry):
    sc_file = tmp_path / "mini.yaml"
    sc_file.write_text(MINIMAL + "text: {backend: echo, temperature: 0.3, judge: {enabled: false}}\n"
                       f"voices: {{registry: {fake_registry}}}\nqa: {{enabled: false}}\n")
    sc = load_scenario(sc_file)
    res = build(sc, n=4, out=tmp_path / "out", workers=0, progress=False)
    assert res.summary["utterances"] == 4
    assert {t.provenance["text_backend"] for t in res.triples} == {"echo"}
    assert {t.provenance["text_model"] for t in res.triples} == {"echo-1"}
    from scenavox.text.stage import TextStage

    assert TextStage(sc, threads=1).backend.temperature_seen == 0.3


def test_an_unknown_backend_is_one_line_naming_file_and_field(tmp_path, fake_registry):
    from click.testing import CliRunner

    from scenavox.cli import main

    sc_file = tmp_path / "mini.yaml"
    sc_file.write_text(MINIMAL + f"text: {{backend: gpt9}}\nvoices: {{registry: {fake_registry}}}\n")
    want = f"{sc_file}: text.backend: unknown text backend 'gpt9'; available: local, fake, openai, transformers"
    res = CliRunner().invoke(main, ["validate", str(sc_file)])
    assert res.exit_code == 2 and res.output.strip() == f"error: {want}"
    with pytest.raises(UserError) as err:
        build(load_scenario(sc_file), n=2, out=tmp_path / "out", workers=0, progress=False)
    assert str(err.value) == want and not (tmp_path / "out").exists()


@pytest.mark.parametrize("package", ["text/backends", "voice/backends"])
def test_no_backend_imports_another(package):
    folder = SRC / package
    mods = {p.stem for p in folder.glob("*.py")} - {"__init__", "base"}
    for p in sorted(folder.glob("*.py")):
        if p.stem not in mods:
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                named = {node.module} if node.module else {a.name for a in node.names}
                assert not named & mods, f"{p.name} imports {named & mods}"
