"""A small Hugging Face Hub stand-in for tests: stdlib HTTP on 127.0.0.1, state in memory.

It speaks the routes `HfApi.create_repo/create_commit/upload_folder`, `DatasetCard.load` and
`datasets.load_dataset` use (DESIGN.md section 7), with the client under
HF_HUB_DISABLE_XET=1 (plain LFS: batch, PUT, verify):

  GET  /api/whoami-v2
  POST /api/repos/create                                  {name, organization, type, visibility}
  POST /api/validate-yaml                                 {content, repoType}
  GET  /api/datasets/{ns}/{name}[/revision/{rev}]         sha, private, siblings, cardData
  POST /api/datasets/{ns}/{name}/preupload/{rev}          uploadMode lfs|regular, oid of the current file
  POST /api/datasets/{ns}/{name}/commit/{rev}             ndjson: header, file, lfsFile, deletedFile, deletedFolder
  GET  /api/datasets/{ns}/{name}/tree/{rev}[/path]        ?recursive=1
  POST /api/datasets/{ns}/{name}/paths-info/{rev}         form: paths=..., expand=...
  PUT  /api/datasets/{ns}/{name}/settings                 {private}
  POST /datasets/{ns}/{name}.git/info/lfs/objects/batch   then PUT /lfs-upload/{oid}, POST /lfs-verify
  HEAD|GET /datasets/{ns}/{name}/resolve/{rev}/{path}     X-Repo-Commit, ETag, ranges

Auth: a request is authorized when it carries `Authorization: Bearer <one of tokens>`. Writes
need it; reads of a private repo without it get 401. Every request is logged in
`server.log` as (method, path, status); unknown routes answer 404 and are kept in
`server.unhandled`, so a failing test shows what the client asked for.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

LFS_SUFFIXES = (".parquet", ".arrow", ".flac", ".wav", ".mp3", ".gz", ".zip", ".bin", ".npz", ".pt", ".onnx")
REPO = r"(?P<repo>[^/]+/[^/]+?)"


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Blob:
    data: bytes
    lfs: bool

    @property
    def oid(self) -> str:  # what preupload and ETag report: sha256 for LFS files, git sha1 otherwise
        return hashlib.sha256(self.data).hexdigest() if self.lfs else git_blob_sha1(self.data)


@dataclass
class Repo:
    repo_id: str
    private: bool
    commits: list[tuple[str, dict[str, Blob]]] = field(default_factory=list)  # (sha, snapshot), oldest first
    created: float = field(default_factory=time.time)

    @property
    def head(self) -> tuple[str, dict[str, Blob]]:
        return self.commits[-1]

    def snapshot(self, rev: str) -> tuple[str, dict[str, Blob]] | None:
        if rev in ("main", "HEAD", "refs/heads/main"):
            return self.head
        for sha, files in self.commits:
            if sha == rev:
                return sha, files
        return None


class HubState:
    def __init__(self, tokens: set[str]):
        self.tokens = set(tokens)
        self.repos: dict[str, Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.lock = threading.RLock()
        self.log: list[tuple[str, str, int]] = []
        self.unhandled: list[str] = []
        self.fail_next_commit = False  # simulate a connection lost before the commit lands
        self._n = 0

    def new_sha(self) -> str:
        self._n += 1
        return hashlib.sha1(f"commit-{self._n}-{time.time()}".encode()).hexdigest()

    def create(self, repo_id: str, private: bool) -> Repo:
        repo = Repo(repo_id, private)
        initial = {".gitattributes": Blob(b"*.parquet filter=lfs diff=lfs merge=lfs -text\n", False)}
        repo.commits.append((self.new_sha(), initial))
        self.repos[repo_id] = repo
        return repo


class HttpError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "HubServer"

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass

    # -- plumbing -------------------------------------------------------------------
    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status: int, body: bytes | dict | list = b"", headers: dict[str, str] | None = None,
              content_type: str = "application/json", head: bool = False) -> None:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)
        self.server.state.log.append((self.command, self.path, status))

    def _authorized(self) -> bool:
        auth = self.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and auth[7:].strip() in self.server.state.tokens

    def _repo(self, repo_id: str, write: bool = False) -> Repo:
        repo = self.server.state.repos.get(repo_id)
        if write and not self._authorized():
            raise HttpError(401, "Invalid credentials in Authorization header", "RepoNotFound" if repo is None else None)
        if repo is None:
            raise HttpError(404 if self._authorized() else 401, f"Repository {repo_id} not found", "RepoNotFound")
        if repo.private and not self._authorized():
            raise HttpError(401, "Invalid username or password.", "RepoNotFound")
        return repo

    def _snapshot(self, repo: Repo, rev: str) -> tuple[str, dict[str, Blob]]:
        snap = repo.snapshot(unquote(rev))
        if snap is None:
            raise HttpError(404, f"Invalid rev id: {unquote(rev)}", "RevisionNotFound")
        return snap

    def _dispatch(self, head: bool = False) -> None:
        url = urlsplit(self.path)
        path, query = unquote(url.path), parse_qs(url.query)
        body = self._body() if self.command in ("POST", "PUT") else b""
        routes = [
            ("GET", r"/api/whoami-v2", self.whoami),
            ("POST", r"/api/repos/create", self.create_repo),
            ("POST", r"/api/validate-yaml", self.validate_yaml),
            ("POST", rf"/api/datasets/{REPO}/preupload/(?P<rev>.+)", self.preupload),
            ("POST", rf"/api/datasets/{REPO}/commit/(?P<rev>.+)", self.commit),
            ("POST", rf"/api/datasets/{REPO}/paths-info/(?P<rev>.+)", self.paths_info),
            ("GET", rf"/api/datasets/{REPO}/tree/(?P<rev>[^/]+)(?:/(?P<sub>.*))?", self.tree),
            ("PUT", rf"/api/datasets/{REPO}/settings", self.settings),
            ("GET", rf"/api/datasets/{REPO}/revision/(?P<rev>.+)", self.info),
            ("GET", rf"/api/datasets/{REPO}", self.info),
            ("POST", rf"/datasets/{REPO}\.git/info/lfs/objects/batch", self.lfs_batch),
            ("PUT", r"/lfs-upload/(?P<oid>[0-9a-f]{64})", self.lfs_put),
            ("POST", r"/lfs-verify", self.lfs_verify),
            ("GET", rf"/datasets/{REPO}/resolve/(?P<rev>[^/]+)/(?P<file>.+)", self.resolve),
        ]
        method = "GET" if self.command == "HEAD" else self.command
        try:
            with self.server.state.lock:
                for m, pattern, fn in routes:
                    match = re.fullmatch(pattern, path)
                    if m == method and match:
                        return fn(head=head, query=query, body=body, **match.groupdict())
                self.server.state.unhandled.append(f"{self.command} {self.path}")
                raise HttpError(404, f"no route {self.command} {path}")
        except HttpError as e:
            hdrs = {"X-Error-Message": e.message}
            if e.code:
                hdrs["X-Error-Code"] = e.code
            self._send(e.status, {"error": e.message}, hdrs, head=head)

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    # -- routes -----------------------------------------------------------------------
    def whoami(self, **_: Any) -> None:
        if not self._authorized():
            raise HttpError(401, "Invalid credentials in Authorization header")
        self._send(200, {"type": "user", "id": "1", "name": "tester", "fullname": "Test User", "orgs": [],
                         "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": "write"}}})

    def create_repo(self, body: bytes, **_: Any) -> None:
        if not self._authorized():
            raise HttpError(401, "Invalid credentials in Authorization header")
        p = json.loads(body or b"{}")
        if p.get("type") != "dataset":
            raise HttpError(400, "this test server only holds datasets")
        repo_id = f"{p['organization'] or 'tester'}/{p['name']}"
        url = f"{self.server.base_url}/datasets/{repo_id}"
        if repo_id in self.server.state.repos:
            return self._send(409, {"error": "You already created this dataset repo", "url": url})
        private = p.get("visibility", "private" if p.get("private") else "public") == "private"
        self.server.state.create(repo_id, private)
        self._send(200, {"url": url, "name": repo_id})

    def validate_yaml(self, body: bytes, **_: Any) -> None:
        content = json.loads(body or b"{}").get("content", "")
        m = re.match(r"^---\s*\n(.*?)\n---\s*\n", content, re.S)
        if m:
            try:
                meta = yaml.safe_load(m.group(1))
            except yaml.YAMLError as e:
                return self._send(400, {"errors": [{"message": f"invalid YAML: {e}"}], "warnings": []})
            if not isinstance(meta, dict):
                return self._send(400, {"errors": [{"message": "metadata must be a mapping"}], "warnings": []})
        self._send(200, {"errors": [], "warnings": []})

    def _card_data(self, files: dict[str, Blob]) -> dict[str, Any] | None:
        readme = files.get("README.md")
        if readme is None:
            return None
        m = re.match(r"^---\s*\n(.*?)\n---\s*\n", readme.data.decode("utf-8"), re.S)
        return yaml.safe_load(m.group(1)) if m else None

    def info(self, repo: str, rev: str = "main", **_: Any) -> None:
        r = self._repo(repo)
        sha, files = self._snapshot(r, rev)
        when = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(r.created))
        self._send(200, {
            "_id": hashlib.md5(repo.encode()).hexdigest()[:24], "id": repo, "author": repo.split("/")[0], "sha": sha,
            "private": r.private, "gated": False, "disabled": False, "downloads": 0, "likes": 0, "tags": [],
            "createdAt": when, "lastModified": when, "cardData": self._card_data(files),
            "siblings": [{"rfilename": p} for p in sorted(files)],
        })

    def settings(self, repo: str, body: bytes, **_: Any) -> None:
        r = self._repo(repo, write=True)
        p = json.loads(body or b"{}")
        if "private" in p:
            r.private = bool(p["private"])
        elif "visibility" in p:
            r.private = p["visibility"] == "private"
        self._send(200, {})

    def preupload(self, repo: str, rev: str, body: bytes, **_: Any) -> None:
        r = self._repo(repo, write=True)
        _, files = self._snapshot(r, rev)
        out = []
        for f in json.loads(body)["files"]:
            sample = base64.b64decode(f["sample"])
            lfs = f["path"].endswith(LFS_SUFFIXES) or b"\0" in sample or f["size"] > 10_000_000
            current = files.get(f["path"])
            out.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False,
                        "oid": current.oid if current is not None and current.lfs == lfs else None})
        self._send(200, {"files": out, "commitOid": r.head[0]})

    def commit(self, repo: str, rev: str, body: bytes, **_: Any) -> None:
        r = self._repo(repo, write=True)
        if self.server.state.fail_next_commit:
            self.server.state.fail_next_commit = False
            raise HttpError(503, "Service unavailable (simulated interruption)")
        head_sha, files = self._snapshot(r, rev)
        if head_sha != r.head[0]:
            raise HttpError(400, "can only commit on top of the main branch")
        new = dict(files)
        summary = ""
        for line in body.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, v = item["key"], item["value"]
            if key == "header":
                summary = v.get("summary", "")
                if v.get("parentCommit") and v["parentCommit"] != head_sha:
                    raise HttpError(412, "A commit has happened since. Please refresh and try again.")
            elif key == "file":
                new[v["path"]] = Blob(base64.b64decode(v["content"]), False)
            elif key == "lfsFile":
                data = self.server.state.lfs.get(v["oid"])
                if data is None:
                    raise HttpError(422, f"LFS object {v['oid']} of {v['path']} was never uploaded")
                new[v["path"]] = Blob(data, True)
            elif key == "deletedFile":
                if new.pop(v["path"], None) is None:
                    raise HttpError(404, f"A file with this name doesn't exist: {v['path']}", "EntryNotFound")
            elif key == "deletedFolder":
                prefix = v["path"].rstrip("/") + "/"
                for p in [p for p in new if p.startswith(prefix)]:
                    del new[p]
            else:
                raise HttpError(400, f"unsupported commit operation {key}")
        sha = self.server.state.new_sha()
        r.commits.append((sha, new))
        self._send(200, {"success": True, "commitOid": sha, "commitMessage": summary,
                         "commitUrl": f"{self.server.base_url}/datasets/{repo}/commit/{sha}",
                         "pullRequestUrl": None})

    def _entry(self, path: str, files: dict[str, Blob]) -> dict[str, Any] | None:
        blob = files.get(path)
        if blob is not None:
            e = {"type": "file", "path": path, "size": len(blob.data), "oid": git_blob_sha1(blob.data)}
            if blob.lfs:
                e["lfs"] = {"oid": blob.oid, "size": len(blob.data), "pointerSize": 134}
            return e
        if path == "" or any(p.startswith(path.rstrip("/") + "/") for p in files):
            return {"type": "directory", "path": path.rstrip("/"),
                    "oid": hashlib.sha1(f"tree:{path}".encode()).hexdigest()}
        return None

    def tree(self, repo: str, rev: str, query: dict[str, list[str]], sub: str | None = None, **_: Any) -> None:
        r = self._repo(repo)
        _, files = self._snapshot(r, rev)
        base = (sub or "").strip("/")
        if base and self._entry(base, files) is None:
            raise HttpError(404, f"{base} does not exist on {rev}", "EntryNotFound")
        recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
        prefix = base + "/" if base else ""
        out: dict[str, dict[str, Any]] = {}
        for p in sorted(files):
            if not p.startswith(prefix):
                continue
            parts = p[len(prefix):].split("/")
            levels = range(1, len(parts)) if recursive else range(1, min(2, len(parts)))
            for k in levels:  # the folders on the way
                d = prefix + "/".join(parts[:k])
                out.setdefault(d, self._entry(d, files))  # type: ignore[arg-type]
            if recursive or len(parts) == 1:
                out[p] = self._entry(p, files)  # type: ignore[assignment]
        self._send(200, list(out.values()))

    def paths_info(self, repo: str, rev: str, body: bytes, **_: Any) -> None:
        r = self._repo(repo)
        _, files = self._snapshot(r, rev)
        form = parse_qs(body.decode())
        out = [e for p in form.get("paths", []) if (e := self._entry(p.strip("/"), files)) is not None]
        self._send(200, out)

    def lfs_batch(self, repo: str, body: bytes, **_: Any) -> None:
        self._repo(repo, write=True)
        p = json.loads(body)
        objects = []
        for o in p["objects"]:
            if o["oid"] in self.server.state.lfs:
                objects.append({"oid": o["oid"], "size": o["size"]})  # already there: no actions
            else:
                objects.append({"oid": o["oid"], "size": o["size"], "authenticated": True, "actions": {
                    "upload": {"href": f"{self.server.base_url}/lfs-upload/{o['oid']}"},
                    "verify": {"href": f"{self.server.base_url}/lfs-verify"}}})
        self._send(200, {"transfer": "basic", "objects": objects}, content_type="application/vnd.git-lfs+json")

    def lfs_put(self, oid: str, body: bytes, **_: Any) -> None:
        if hashlib.sha256(body).hexdigest() != oid:
            raise HttpError(400, "sha256 of the uploaded content does not match the oid")
        self.server.state.lfs[oid] = body
        self._send(200, b"", content_type="text/plain")

    def lfs_verify(self, body: bytes, **_: Any) -> None:
        if not self._authorized():
            raise HttpError(401, "Invalid credentials")
        p = json.loads(body)
        data = self.server.state.lfs.get(p["oid"])
        if data is None or len(data) != p["size"]:
            raise HttpError(404, "object not found")
        self._send(200, {})

    def resolve(self, repo: str, rev: str, file: str, head: bool = False, **_: Any) -> None:
        r = self._repo(repo)
        sha, files = self._snapshot(r, rev)
        blob = files.get(file)
        if blob is None:
            raise HttpError(404, f"Entry not found: {file}", "EntryNotFound")
        data = blob.data
        hdrs = {"X-Repo-Commit": sha, "ETag": f'"{blob.oid}"', "Accept-Ranges": "bytes"}
        if blob.lfs:
            hdrs.update({"X-Linked-Etag": f'"{blob.oid}"', "X-Linked-Size": str(len(data))})
        rng = self.headers.get("Range")
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng or "")
        if m and (m.group(1) or m.group(2)):
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)) if m.group(2) else len(data) - 1, len(data) - 1)
            else:
                start, end = max(0, len(data) - int(m.group(2))), len(data) - 1
            if start >= len(data):
                raise HttpError(416, "range not satisfiable")
            hdrs["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return self._send(206, data[start:end + 1], hdrs, "application/octet-stream", head=head)
        self._send(200, data, hdrs, "application/octet-stream", head=head)


class HubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tokens: set[str], host: str = "127.0.0.1", port: int = 0):
        super().__init__((host, port), Handler)
        self.state = HubState(tokens)
        self.base_url = f"http://{host}:{self.server_address[1]}"
        self._thread: threading.Thread | None = None

    def start(self) -> "HubServer":
        self._thread = threading.Thread(target=self.serve_forever, name="hub-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    # helpers for tests
    def files(self, repo_id: str) -> dict[str, bytes]:
        return {p: b.data for p, b in self.state.repos[repo_id].head[1].items()}

    def set_file(self, repo_id: str, path: str, data: bytes) -> None:
        """Commit a file directly (as a user editing on the Hub would)."""
        with self.state.lock:
            repo = self.state.repos[repo_id]
            new = dict(repo.head[1])
            new[path] = Blob(data, path.endswith(LFS_SUFFIXES))
            repo.commits.append((self.state.new_sha(), new))


if __name__ == "__main__":  # manual use: python tests/publish/hub_server.py
    srv = HubServer({"hf_dummy"}, port=8765).start()
    print(f"serving on {srv.base_url} (token hf_dummy); Ctrl-C stops")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()
