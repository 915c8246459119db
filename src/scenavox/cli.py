"""`scenavox ...`: a thin command line over the library."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import click

from .errors import UserError
from .text.backends import names as text_backend_names


INTERRUPTED = "interrupted: finished items are saved; rerun the same command to resume"
# How long a Ctrl-C may take to end a run before the run is ended without its normal cleanup.
CTRL_C_GRACE_S = 10.0


def _in_callback(frame: Any) -> bool:
    """Whether an exception raised in this frame would be printed and dropped ("Exception ignored in ...")
    instead of ending the run: inside a finalizer, or inside soundfile's virtual-IO callbacks, which C
    calls while it encodes or decodes audio in memory (seen here: a Ctrl-C in `vio_tell`)."""
    while frame is not None:
        code = frame.f_code
        if code.co_name == "__del__" or (code.co_name.startswith("vio_") and code.co_filename.endswith("soundfile.py")):
            return True
        frame = frame.f_back
    return False


def _raise_again() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def _on_ctrl_c(signum: int, frame: Any) -> None:
    """Ctrl-C: KeyboardInterrupt as usual, and a deadline. A run sometimes went on to the end after Ctrl-C
    (about once in four in tests/test_executors.py): a KeyboardInterrupt that lands in a finalizer or in a C
    library's callback is swallowed, with a traceback on stderr. Where we can tell (`_in_callback`), the
    Ctrl-C is sent again 50 ms later instead; elsewhere the deadline covers it. Every finished item is
    already on disk (written atomically) and the workers die with this process, so ending it hard loses
    only the items in flight."""
    import threading

    if _in_callback(frame):
        again = threading.Timer(0.05, _raise_again)
        again.daemon = True
        again.start()
        return

    def hard_exit() -> None:
        sys.stderr.write(INTERRUPTED + "\n")
        sys.stderr.flush()
        os._exit(130)

    timer = threading.Timer(CTRL_C_GRACE_S, hard_exit)
    timer.daemon = True  # a run that ends in time exits without waiting for it
    timer.start()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # one deadline: a second Ctrl-C is a plain one
    raise KeyboardInterrupt


class _Group(click.Group):
    """Turns UserError into one line on stderr and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201
        import threading

        # not where Ctrl-C is ignored, and only the main thread may set a handler (a caller's thread may not)
        ours = (signal.getsignal(signal.SIGINT) is signal.default_int_handler
                and threading.current_thread() is threading.main_thread())
        if ours:
            signal.signal(signal.SIGINT, _on_ctrl_c)
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo(INTERRUPTED, err=True)
            sys.exit(130)
        finally:
            if ours:  # a caller that goes on (a test's CliRunner, a notebook) gets its Ctrl-C back
                signal.signal(signal.SIGINT, signal.default_int_handler)


def _allow_path_option(f):  # noqa: ANN001, ANN202
    return click.option(
        "--allow-path", "allow_paths", multiple=True, type=click.Path(path_type=Path),
        help="A folder outside the scenario's own from which it may read text files (slot file:, text.template, "
             "voices.registry); repeatable. Without it only the scenario's folder is readable.")(f)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="scenavox")
def main() -> None:
    """scenavox: scenario-first synthetic speech corpora."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    _quiet_resource_tracker()


def _quiet_resource_tracker() -> None:
    """After a Ctrl-C that had to end the run hard, multiprocessing's resource tracker (a process of its own,
    started with the first worker pool, reading this environment) unlinks the pools' semaphores and warns
    "There appear to be N leaked semaphore objects" after our last line. The unlinking is the cleanup we
    want; the warning only tells a user what the line before it already said, so it stays quiet."""
    quiet = "ignore:resource_tracker:UserWarning:multiprocessing.resource_tracker"
    current = os.environ.get("PYTHONWARNINGS", "")
    if quiet not in current.split(","):
        os.environ["PYTHONWARNINGS"] = f"{current},{quiet}" if current else quiet


@main.command()
@click.option("--scenario", "-s", required=True, help="A name from prompts/ (e.g. car) or a path to a .yaml file.")
@click.option("--n", "n", type=click.IntRange(min=1), default=None, help="Utterances to generate [scenario size.n].")
@click.option("--seed", type=click.IntRange(min=0, max=2**31 - 1), default=None, help="Random seed [scenario seed].")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Corpus folder [outputs/<scenario name>].")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Cores to use; 0 runs everything in this process [all cores].")
@click.option("--text-backend", type=click.Choice(text_backend_names()), default=None,
              help="Override the scenario's text.backend (fake: no model, for trying the pipeline; "
                   "openai: any OpenAI-compatible server).")
@click.option("--model", default=None, help="Override text.model (a GGUF path for local, a model name for openai).")
@click.option("--base-url", default=None, help="Override text.base_url for the openai backend "
                                               "(e.g. http://127.0.0.1:8000/v1).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where stages run: this machine's processes, or a Ray cluster.")
@click.option("--address", default=None, help="Ray cluster address (with --executor ray) [start a local Ray].")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.option("--dry-run", is_flag=True,
              help="Print how long the build would take (rates from an earlier build of this scenario, else from "
                   "a 6-utterance probe build in a temporary folder) and stop; the corpus folder is not touched.")
@click.option("--allow-short", is_flag=True, help="Exit 0 even when fewer utterances than --n pass "
                                                  "(otherwise exit code 3).")
@_allow_path_option
def corpus(scenario: str, n: int | None, seed: int | None, out: Path | None, workers: int | None,
           text_backend: str | None, model: str | None, base_url: str | None, executor: str, address: str | None,
           quiet: bool, dry_run: bool, allow_short: bool, allow_paths: tuple[Path, ...]) -> None:
    """Build (or resume) a corpus for a scenario."""
    from .api import EXIT_SHORT, build, shortfall
    from .summary import format_summary
    from .scenario import load_scenario

    if quiet:
        _quiet_libraries()
    sc = load_scenario(scenario, allow_paths=allow_paths).with_text(backend=text_backend, model=model,
                                                                    base_url=base_url)
    if dry_run:
        from .estimate import earlier_rates, estimate, format_estimate, probe_rates
        from .pipeline import default_out

        _quiet_libraries()
        folders = [out or default_out(sc), Path("outputs")]
        rates = earlier_rates(sc, folders) or probe_rates(sc, workers)
        click.echo(format_estimate(estimate(sc, n or sc.size.n, rates, workers)))
        return
    if address and executor != "ray":
        raise UserError("--address needs --executor ray")
    runner = None
    if executor == "ray":
        from .executor_ray import RayExecutor

        runner = RayExecutor(address=address)
    # the summary is printed either way; the exit code says whether the corpus is short
    result = build(sc, n=n, seed=seed, out=out, workers=workers, progress=not quiet, executor=runner,
                   allow_short=True)
    click.echo(format_summary(result.summary))
    if result.dataset:
        click.echo(f"dataset: {result.dataset}")
    else:
        click.echo("no clip passed; nothing exported (see quarantine.jsonl)", err=True)
        sys.exit(1)
    line = shortfall(result.summary)
    if line:
        click.echo(("warning: " if allow_short else "error: ") + line, err=True)
        if not allow_short:
            sys.exit(EXIT_SHORT)


@main.command()
def scenarios() -> None:
    """List the scenarios in ./prompts and the bundled prompts/ (./prompts wins on a name in both)."""
    from .scenario import available_scenarios, load_scenario

    for name in available_scenarios():
        sc = load_scenario(name)
        first = sc.description.strip().splitlines()[0]
        click.echo(f"{name:14s} {first}")


@main.command()
@click.argument("scenario")
@_allow_path_option
def validate(scenario: str, allow_paths: tuple[Path, ...]) -> None:
    """Check a scenario file and print what it will produce."""
    from .scenario import load_scenario
    from .text.stage import check_backend
    from .voice.stage import VoicePlanner

    sc = load_scenario(scenario, allow_paths=allow_paths)
    check_backend(sc)
    VoicePlanner(sc, sc.seed)
    accents = ", ".join(f"{a} {w:.0%}" for a, w in sc.accent_weights.items())
    click.echo(f"{sc.source_path}: ok: {len(sc.intents)} intents, accents {accents}, n={sc.size.n}")


@main.group()
def voices() -> None:
    """The voice registry."""


@voices.command("list")
@click.option("--scenario", "-s", default=None, help="Show the voices a scenario would use and their shares.")
@_allow_path_option
def voices_list(scenario: str | None, allow_paths: tuple[Path, ...]) -> None:
    from collections import Counter

    from .scenario import load_scenario
    from .voice.registry import load_registry
    from .voice.stage import VoicePlanner

    if scenario is None:
        for v in load_registry("default"):
            role = "  assistant replies only (never a user voice)" if v.role == "assistant" else ""
            click.echo(f"{v.id:24s} {v.backend:7s} {v.accent:12s} {v.gender:7s} {v.licence}{role}")
        return
    from .text.dialogue import plan_tasks
    from .voice.replies import voices_replies
    from .voice.speakers import voice_slots

    sc = load_scenario(scenario, allow_paths=allow_paths)
    planner = VoicePlanner(sc, sc.seed)
    shares = Counter()
    for accent, k in voice_slots(planner, plan_tasks(sc, sc.size.n, sc.seed)):  # dialogues keep one voice
        shares[planner.voice_for(accent, k).id] += 1
    for v in planner.voices:
        click.echo(f"{v.id:24s} {v.backend:7s} {v.accent:12s} {shares[v.id] / sc.size.n:6.1%}")
    if voices_replies(sc):
        click.echo(f"assistant replies: {planner.assistant.id}", err=True)  # stdout stays a table


# HF_HUB_OFFLINE as the user set it, before `main` defaults it to 1 for the offline commands.
_USER_HF_HUB_OFFLINE = os.environ.get("HF_HUB_OFFLINE")


@main.command()
@click.option("--scenario", "-s", required=True, help="The scenario whose corpus to publish (name or .yaml path).")
@click.option("--repo", required=True, help="Hub dataset id, namespace/name (e.g. my-org/car-commands).")
@click.option("--public", is_flag=True, help="Create the repo public [private]. An existing repo keeps its visibility.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Corpus folder (or its dataset/ folder) [outputs/<scenario name>].")
@click.option("--message", "-m", default=None, help="Commit message.")
@_allow_path_option
def publish(scenario: str, repo: str, public: bool, out: Path | None, message: str | None,
            allow_paths: tuple[Path, ...]) -> None:
    """Push the exported dataset to the Hugging Face Hub (token from HF_TOKEN or `hf auth login`)."""
    from .publish.hub import check_folder, check_repo_id, default_folder, publish_folder
    from .scenario import load_scenario

    check_repo_id(repo)
    folder = check_folder(default_folder(load_scenario(scenario, allow_paths=allow_paths).name, out))
    if (_USER_HF_HUB_OFFLINE or "").strip().upper() in {"1", "ON", "YES", "TRUE"}:
        raise UserError("HF_HUB_OFFLINE is set: unset it to publish to the Hub")
    os.environ["HF_HUB_OFFLINE"] = "0"  # main() defaulted it to 1; publishing is the one online command
    result = publish_folder(folder, repo, private=not public, commit_message=message)
    visibility = "private" if result.private else "public"
    extra = f", removed {len(result.deleted)} old shard(s)" if result.deleted else ""
    click.echo(f"published {folder} to {result.url} ({visibility}, commit {(result.commit or '?')[:12]}{extra})")
    if not result.created and result.private == public:
        click.echo(f"note: {result.repo_id} already existed and stays {visibility}; change its visibility in the "
                   "repo settings on the Hub", err=True)


@main.command()
@click.argument("name")
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the file [./prompts/NAME.yaml, in the working folder].")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(name: str, path: Path | None, force: bool) -> None:
    """Scaffold a new scenario file in ./prompts, with comments explaining each of the six questions."""
    from importlib.resources import files

    from .scenario import NAME_RE, parse_scenario, user_prompts_dir
    from .store import write_atomic

    if not NAME_RE.match(name):
        raise UserError(f"'{name}' is not a valid scenario name (lower-case letters, digits, _ and -)")
    # the user's own project, never the installed package: names are looked up in ./prompts first
    target = path or user_prompts_dir() / f"{name}.yaml"
    if target.exists() and not force:
        raise UserError(f"{target} exists; pick another name or pass --force")
    text = files("scenavox").joinpath("templates/scenario_init.yaml").read_text(encoding="utf-8")
    text = text.replace("__NAME__", name)
    parse_scenario(text, target)  # the scaffold itself must be valid
    write_atomic(target, text)
    click.echo(f"wrote {target}; edit it, then: scenavox validate {target if path else name}")


def scenario_schema() -> dict:
    """The scenario's JSON Schema, with the registered text backends as text.backend's choices."""
    from .scenario import Scenario

    schema = Scenario.model_json_schema()
    prop = schema["$defs"]["TextConfig"]["properties"]["backend"]
    prop.update({"enum": text_backend_names(), **{k: prop.pop(k) for k in list(prop) if k != "default"}})
    return schema


@main.command("schema")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the JSON Schema to a file instead of stdout.")
def schema_cmd(out: Path | None) -> None:
    """Print the JSON Schema of scenario files (for editor completion)."""
    import json

    from .store import write_atomic

    text = json.dumps(scenario_schema(), indent=2) + "\n"
    if out:
        write_atomic(out, text)
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)


@main.command()
@click.option("--scenario", "-s", required=True, help="The scenario whose corpus to check (name or .yaml path).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Corpus folder [outputs/<scenario name>].")
@click.option("--failure-cost", type=click.Choice(["low", "medium", "high"]), default=None,
              help="Override the scenario's failure_cost (picks the threshold preset).")
@click.option("--workers", type=click.IntRange(min=0), default=0,
              help="Processes; 0 runs in this process [0].")
@click.option("--threads", type=click.IntRange(min=1), default=2,
              help="Without --workers: clips measured at once, a thread each; with --workers: threads per worker [2].")
@click.option("--no-report", is_flag=True, help="Skip report/index.html and report/report.json.")
@click.option("--extra/--no-extra", default=None,
              help="Distinct speakers and reply relevance (needs scenavox[qa-extra]) [when installed].")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@_allow_path_option
def qa(scenario: str, out: Path | None, failure_cost: str | None, workers: int, threads: int, no_report: bool,
       extra: bool | None, quiet: bool, allow_paths: tuple[Path, ...]) -> None:
    """Check an existing corpus: round-trip recognition, entities, audio, text, balance; write a report."""
    from .executors import LocalExecutor
    from .qa import format_qa_summary, load_corpus, run_qa
    from .scenario import load_scenario
    from .store import Store

    if quiet:
        _quiet_libraries()
    sc = load_scenario(scenario, allow_paths=allow_paths)
    if failure_cost:
        sc = sc.model_copy(update={"failure_cost": failure_cost})
    root = out if out is not None else Path("outputs") / sc.name
    store = Store(root)
    if not root.is_dir():
        raise UserError(f"{root}: no corpus folder; build one with `scenavox corpus --scenario {sc.name}` "
                        "or pass --out")
    clips, triples = load_corpus(store)
    if not clips:
        raise UserError(f"{root}: no clips found (clips.jsonl or clips/); build the corpus first")
    with store.lock():
        results, summary = run_qa(store, sc, clips, triples, executor=LocalExecutor(), workers=workers,
                                  threads=threads, report=not no_report, progress=not quiet, extras=extra)
    click.echo(format_qa_summary(summary, results))
    click.echo(f"results: {store.file(Store.qa_rel('results.jsonl'))}")
    if not no_report:
        click.echo(f"report: {store.report_dir / 'index.html'}")


@main.command("eval")
@click.option("--scenario", "-s", required=True, help="The scenario whose corpus to evaluate (name or .yaml path).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Corpus folder [outputs/<scenario name>].")
@click.option("--baselines", is_flag=True,
              help="Also train on (b) the train texts in one clean generic voice and (c) the scenario's voices "
                   "without acoustics, built from the stored text (no LLM), and compare with the corpus (d).")
@click.option("--seed", type=click.IntRange(min=0, max=2**31 - 1), default=None, help="Probe seed [scenario seed].")
@click.option("--threads", type=click.IntRange(min=1), default=2, help="Encoder threads [2].")
@click.option("--folds", type=click.IntRange(min=1), default=1,
              help="Speaker k-fold: hold every speaker out once and score all synthetic rows, with intervals "
                   "over speakers (about k times the test clips; scenarios without voices.held_out) [1: one "
                   "held-out set].")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@_allow_path_option
def eval_cmd(scenario: str, out: Path | None, baselines: bool, seed: int | None, threads: int, folds: int,
             quiet: bool, allow_paths: tuple[Path, ...]) -> None:
    """Train a probe intent classifier on the corpus and test it on held-out voices (and real rows)."""
    from .api import evaluate
    from .eval import format_results
    from .pipeline import default_out
    from .scenario import load_scenario

    if quiet:
        _quiet_libraries()
    sc = load_scenario(scenario, allow_paths=allow_paths)
    root = out if out is not None else default_out(sc)
    if not root.is_dir():
        raise UserError(f"{root}: no corpus folder; build one with `scenavox corpus --scenario {sc.name}` "
                        "or pass --out")
    res = evaluate(sc, out=root, baselines=baselines, seed=seed, threads=threads, progress=not quiet, folds=folds)
    click.echo(format_results(res))
    click.echo(f"results: {root / 'eval' / 'results.json'}")


def _quiet_libraries() -> None:
    """-q also silences the progress bars of the model libraries (transformers' "Loading weights")."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


if __name__ == "__main__":
    main()
