"""Files a scenario names for text (slot `file:`, text.template, voices.registry) must lie inside the
scenario's folder or a folder the user allowed, and hold text: a shared scenario must not read other
files of the machine into prompts (and from there into a published dataset)."""

import subprocess

import pytest

from scenavox.errors import UserError
from scenavox.scenario import TEXT_FILE_MAX_BYTES, load_scenario, parse_scenario
from scenavox.text.commands import plan_commands, slot_values

from .conftest import MINIMAL, SCENAVOX

SECRET = "s3cret-line-that-must-not-leak"


@pytest.fixture
def layout(tmp_path):
    """tmp/project/scenario.yaml beside names.txt, and tmp/outside/ with a secret and a names list."""
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (project / "names.txt").write_text("Alice\n# a comment\n\nBob\n")
    (outside / "secret.txt").write_text(SECRET + "\n")
    (outside / "names.txt").write_text("Carol\nDan\n")
    return project, outside


def write(project, file_ref: str, extra: str = ""):
    path = project / "scenario.yaml"
    path.write_text(MINIMAL.replace("values: [Mom, Sarah, David]", f"file: '{file_ref}'") + extra)
    return path


def refused(path, *fragments, **kw):
    with pytest.raises(UserError) as err:
        load_scenario(path, **kw)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(str(path)) and SECRET not in msg, msg
    for frag in fragments:
        assert frag in msg, (frag, msg)
    return msg


def test_a_good_file_inside_the_folder_still_works(layout):
    project, _ = layout
    sc = load_scenario(write(project, "names.txt"))
    assert slot_values(sc.intents[1].slots["contact"], sc) == ["Alice", "Bob"]
    planned = {t.command.slots.get("contact") for t in plan_commands(sc, 8, 0)} - {None}
    assert planned == {"Alice", "Bob"}


@pytest.mark.parametrize("ref", ["../outside/secret.txt", "../../../../../../../../etc/hostname", "/etc/hostname"])
def test_traversal_and_absolute_paths_outside_are_refused(layout, ref):
    project, _ = layout
    refused(write(project, ref), "intents.1.slots.contact.file", "outside the scenario's folder", "--allow-path")


def test_a_missing_file_outside_is_refused_as_outside_not_probed(layout):
    project, _ = layout  # whether a file exists elsewhere is none of the scenario's business
    refused(write(project, "../outside/nothing-here.txt"), "outside the scenario's folder")


def test_symlink_escape_is_refused(layout):
    project, outside = layout
    (project / "innocent.txt").symlink_to(outside / "secret.txt")
    (project / "linked_dir").symlink_to(outside, target_is_directory=True)
    refused(write(project, "innocent.txt"), "outside the scenario's folder")
    refused(write(project, "linked_dir/secret.txt"), "outside the scenario's folder")


def test_a_symlink_that_stays_inside_is_fine(layout):
    project, _ = layout
    (project / "lists").mkdir()
    (project / "lists" / "alias.txt").symlink_to(project / "names.txt")
    sc = load_scenario(write(project, "lists/alias.txt"))
    assert slot_values(sc.intents[1].slots["contact"], sc) == ["Alice", "Bob"]


def test_an_allowed_folder_works_and_only_that_one(layout, tmp_path):
    project, outside = layout
    path = write(project, "../outside/names.txt")
    refused(path, "outside the scenario's folder")
    sc = load_scenario(path, allow_paths=[outside])
    assert sc.allow_paths == (outside.resolve(),)
    assert slot_values(sc.intents[1].slots["contact"], sc) == ["Carol", "Dan"]
    assert {t.command.slots.get("contact") for t in plan_commands(sc, 8, 0)} - {None} == {"Carol", "Dan"}
    # the permission survives the copies the command line makes, and covers only that folder
    assert sc.with_text(backend="fake").allow_paths == sc.allow_paths
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    refused(path, "outside the scenario's folder", allow_paths=[elsewhere])
    with pytest.raises(UserError, match="not a folder"):
        load_scenario(path, allow_paths=[outside / "names.txt"])


def test_a_scenario_cannot_allow_itself_paths(layout):
    project, _ = layout
    for key in ("allow_paths", "_allow_paths"):
        with pytest.raises(UserError, match="unknown field"):
            load_scenario(write(project, "../outside/secret.txt", f"{key}: ['/']\n"))


def test_binary_and_non_utf8_files_are_refused(layout):
    project, _ = layout
    (project / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (project / "nul.txt").write_bytes(b"Alice\nBob\x00\n")
    (project / "latin1.txt").write_bytes("Zoë\nJosé\n".encode("latin-1"))
    for name in ("image.png", "nul.txt", "latin1.txt"):
        refused(write(project, name), "intents.1.slots.contact.file", "not a text file")


def test_an_oversized_file_is_refused(layout):
    project, _ = layout
    (project / "huge.txt").write_text("Alice\n" * (TEXT_FILE_MAX_BYTES // 6 + 1))
    refused(write(project, "huge.txt"), "intents.1.slots.contact.file", "too large", "at most 2 MiB")


def test_template_and_registry_paths_are_confined_too(layout):
    project, outside = layout
    (outside / "evil.j2").write_text("{% macro system(scenario) %}x{% endmacro %}")
    path = project / "t.yaml"
    path.write_text(MINIMAL + "text: {template: ../outside/evil.j2}\n")
    refused(path, "text.template", "outside the scenario's folder")
    path.write_text(MINIMAL + f"voices: {{registry: {outside / 'secret.txt'}}}\n")
    refused(path, "voices.registry", "outside the scenario's folder")


def test_the_reader_checks_too_not_only_the_loader(layout):
    """A scenario changed after loading (or built in Python) is checked where the file is read."""
    project, _ = layout
    sc = load_scenario(write(project, "names.txt"))
    sc.intents[1].slots["contact"].file = "../outside/secret.txt"
    with pytest.raises(UserError, match="outside the scenario's folder"):
        plan_commands(sc, 4, 0)
    text_only = parse_scenario(MINIMAL.replace("values: [Mom, Sarah, David]", "values: [x]"))
    text_only.intents[1].slots["contact"].values = None
    text_only.intents[1].slots["contact"].file = "/etc/hostname"
    with pytest.raises(UserError, match="outside the scenario's folder"):
        plan_commands(text_only, 4, 0)


def test_cli_allow_path(layout):
    project, outside = layout
    path = write(project, "../outside/names.txt")
    r = subprocess.run([SCENAVOX, "validate", str(path)], capture_output=True, text=True, cwd=project)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "outside the scenario's folder" in r.stderr, r.stderr
    r = subprocess.run([SCENAVOX, "validate", str(path), "--allow-path", str(outside)], capture_output=True,
                       text=True, cwd=project)
    assert r.returncode == 0 and "ok:" in r.stdout, r.stderr
    r = subprocess.run([SCENAVOX, "validate", str(path), "--allow-path", str(outside / "names.txt")],
                       capture_output=True, text=True, cwd=project)
    assert r.returncode == 2 and "not a folder" in r.stderr
