"""Push an exported dataset folder to the Hugging Face Hub.

The folder `export_dataset` wrote (`data/*.parquet`, README.md, scenario.yaml,
run_config.json) goes up as it is, in one commit, so the Hub holds exactly what was tested
locally. Details:

- the repo is created private unless `private=False` (an existing repo keeps its visibility);
- the token comes from the environment (`HF_TOKEN`) or the `hf auth login` cache, through
  huggingface_hub; scenavox never writes it anywhere;
- the card's YAML is merged with the one already on the Hub: our fields replace theirs,
  fields only the Hub has (added there by a colleague: gated, extra tags, links) stay;
- parquet shards the new export no longer has are deleted in the same commit;
- the commit is atomic: an interrupted push leaves the repo as it was, and rerunning it
  skips LFS objects already uploaded and files that did not change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..store import Store

REPO_ID_RE = re.compile(r"^(?P<ns>[A-Za-z0-9][A-Za-z0-9_.-]{0,95})/(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,95})$")
UPLOAD_FILES = ("README.md", "scenario.yaml", "run_config.json")


@dataclass
class PublishResult:
    repo_id: str
    url: str
    commit: str | None
    private: bool
    created: bool
    files: list[str]
    deleted: list[str]


def check_repo_id(repo_id: str) -> str:
    rid = (repo_id or "").strip()
    m = REPO_ID_RE.match(rid)
    if not m or "--" in rid or ".." in rid or rid.endswith((".git", ".")):
        raise UserError(f"--repo '{repo_id}': give a Hub dataset id as namespace/name "
                        "(letters, digits, '-', '_', '.'; e.g. my-org/car-commands)")
    return rid


def check_folder(folder: Path | str) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no exported dataset here; build it first with "
                        "`scenavox corpus --scenario NAME` (it writes outputs/<scenario>/dataset)")
    if not (folder / "README.md").is_file() or not list((folder / "data").glob("*.parquet")):
        raise UserError(f"{folder}: not a complete dataset export (needs README.md and data/*.parquet); "
                        "rerun `scenavox corpus` to export it again")
    return folder


def _hub_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def resolve_token(token: str | None = None) -> str:
    """The token from the argument, HF_TOKEN or the login cache; a UserError if there is none."""
    from huggingface_hub import get_token

    tok = token or get_token()
    if not tok:
        raise UserError("no Hugging Face token: set HF_TOKEN in the environment or run `hf auth login` "
                        "(scenavox reads it from there and never stores it)")
    return tok


def local_files(folder: Path) -> list[str]:
    files = [f"data/{p.name}" for p in sorted((folder / "data").glob("*.parquet"))]
    files += [f"dialogues/{p.name}" for p in sorted((folder / "dialogues").glob("*.parquet"))]
    files += [name for name in UPLOAD_FILES if (folder / name).is_file()]
    return files


def merged_card(folder: Path, remote_card_data: dict[str, Any] | None) -> str:
    """Our README.md with its YAML merged over the Hub card's YAML (see card.merge_card_metadata)."""
    from huggingface_hub import DatasetCard, DatasetCardData

    from .card import merge_card_metadata

    ours = DatasetCard((folder / "README.md").read_text(encoding="utf-8"))
    if not remote_card_data:
        return str(ours)
    merged = merge_card_metadata(remote_card_data, ours.data.to_dict())
    return f"---\n{DatasetCardData(**merged).to_yaml()}\n---\n{ours.text}"


def _transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP client's connection errors (huggingface_hub 1.x uses httpx, 2.x httpx2)."""
    out: list[type[BaseException]] = []
    for mod in ("httpx2", "httpx"):
        try:
            m = __import__(mod)
        except ImportError:
            continue
        err = getattr(m, "TransportError", None)
        if isinstance(err, type) and issubclass(err, BaseException):
            out.append(err)
    return tuple(out)


def _explain(exc: Exception, repo_id: str, endpoint: str) -> UserError:
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status in (401, 403) or isinstance(exc, RepositoryNotFoundError):
        return UserError(f"the Hub refused the token for {repo_id} (HTTP {status}): check that HF_TOKEN (or your "
                         "`hf auth login`) has write access to that namespace")
    if isinstance(exc, HfHubHTTPError):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return UserError(f"the Hub rejected the push to {repo_id}: {first}; rerun the same command to retry")
    return UserError(f"cannot reach the Hub at {endpoint} ({type(exc).__name__}: {exc}); "
                     "check the network (or HF_ENDPOINT) and rerun the same command: the push resumes")


def publish_folder(folder: Path | str, repo_id: str, *, private: bool = True, token: str | None = None,
                   commit_message: str | None = None) -> PublishResult:
    """Upload an exported dataset folder to `repo_id` (a dataset repo); see the module notes."""
    folder = check_folder(folder)
    repo_id = check_repo_id(repo_id)
    if _hub_offline():
        raise UserError("HF_HUB_OFFLINE is set: unset it to publish to the Hub")
    tok = resolve_token(token)
    if folder.name == Store.DATASET:  # inside a corpus folder: don't upload while a run re-exports it
        with Store(folder.parent).lock():
            return _push(folder, repo_id, tok, private=private, commit_message=commit_message)
    return _push(folder, repo_id, tok, private=private, commit_message=commit_message)


def _push(folder: Path, repo_id: str, tok: str, *, private: bool, commit_message: str | None) -> PublishResult:

    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, constants
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    api = HfApi(token=tok)
    endpoint = api.endpoint or constants.ENDPOINT
    try:
        try:
            info = api.dataset_info(repo_id)
            created = False
        except RepositoryNotFoundError:
            api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
            info = api.dataset_info(repo_id)
            created = True
        remote = {s.rfilename for s in (info.siblings or [])}
        card_data = info.card_data.to_dict() if info.card_data is not None else None
        files = local_files(folder)
        ops: list[Any] = []
        for rel in files:
            if rel == "README.md":
                ops.append(CommitOperationAdd(rel, merged_card(folder, card_data).encode("utf-8")))
            else:
                ops.append(CommitOperationAdd(rel, str(folder / rel)))
        stale = sorted(p for p in remote if p.startswith("data/") and p.endswith(".parquet") and p not in files)
        ops += [CommitOperationDelete(p) for p in stale]
        msg = commit_message or f"scenavox: publish {len(files)} files" + (f", remove {len(stale)}" if stale else "")
        commit = api.create_commit(repo_id, ops, repo_type="dataset", commit_message=msg)
    except (HfHubHTTPError, OSError, *_transport_errors()) as exc:
        raise _explain(exc, repo_id, endpoint) from exc
    return PublishResult(repo_id=repo_id, url=f"{endpoint.rstrip('/')}/datasets/{repo_id}",
                         commit=getattr(commit, "oid", None), private=bool(info.private), created=created,
                         files=files, deleted=stale)


def default_folder(scenario_name: str, out: Path | str | None = None) -> Path:
    """Where `scenavox corpus` put the dataset: <out>/dataset (default out: outputs/<scenario>).

    `out` may also be the dataset folder itself."""
    base = Path(out) if out is not None else Path("outputs") / scenario_name
    if (base / "data").is_dir() and (base / "README.md").is_file():
        return base
    return Store(base).dataset_dir
