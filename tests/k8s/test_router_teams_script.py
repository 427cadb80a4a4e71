"""The router-teams reconcile script, run as a subprocess against in-memory fakes of the LiteLLM admin
API and the Kubernetes API. The LiteLLM fake answers with the proxy's response shapes and validates
every request body with LiteLLM's own pydantic request models, refusing fields those models do not
declare (the proxy would silently drop them)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import BaseModel, ValidationError

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
from litellm.proxy._types import (
    BlockTeamRequest,
    GenerateKeyRequest,
    KeyRequest,
    NewTeamRequest,
    UpdateTeamRequest,
)

SCRIPT = Path(__file__).resolve().parents[2] / "components" / "k8s" / "scripts" / "router_teams.py"
MASTER_KEY = "sk-master-" + secrets.token_hex(12)
K8S_TOKEN = "sa-token-" + secrets.token_hex(12)
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBfakeCA\n-----END CERTIFICATE-----\n"
OURS = {"managed-by": "ai-factory", "environment": "test-eu"}
SEQ = itertools.count()  # one clock for both fakes, to check the order of calls across them
Reply = tuple[int, Any]


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def now_iso(days_ago: float = 0) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)).isoformat()


def proxy_error(code: int, message: str, kind: str) -> Reply:
    """What LiteLLM's ProxyException handler sends (proxy_server.py `openai_exception_handler`)."""
    return code, {"error": {"message": message, "type": kind, "param": "None", "code": str(code)}}


class FakeApi:
    """An in-memory JSON API on 127.0.0.1, served from a thread; every request is logged."""

    def __init__(self) -> None:
        self.log: list[tuple[int, str, str, dict[str, str], Any]] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                with fake._lock:
                    fake.log.append((next(SEQ), self.command, url.path, query, body))
                    try:
                        status, payload = fake.handle(self.command, url.path, query, body, self.headers)
                    except Exception as err:  # a bug in the fake must fail the test, not look transient
                        fake.errors.append(f"fake crashed on {self.command} {url.path}: {err!r}")
                        status, payload = 418, {}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def handle(self, method: str, path: str, query: dict[str, str], body: Any, headers: Any) -> Reply:
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bodies(self, method: str, path: str) -> list[Any]:
        return [body for _, m, p, _, body in self.log if (m, p) == (method, path)]

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for _, m, p, _, _ in self.log if m != "GET"]

    def seq(self, method: str, path: str) -> list[int]:
        return [n for n, m, p, _, _ in self.log if (m, p) == (method, path)]


class FakeLiteLLM(FakeApi):
    def __init__(self) -> None:
        self.teams: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, dict[str, Any]] = {}  # by token hash, as LiteLLM stores them
        self.issued: list[str] = []
        self.ready = True
        self.fail_team_new: set[str] = set()
        self.alias_collisions = 0  # answer this many key generations with LiteLLM's duplicate-alias error
        self.routes: dict[tuple[str, str], tuple[type[BaseModel] | None, Callable[..., Reply]]] = {
            ("GET", "/team/info"): (None, self.team_info),
            ("POST", "/team/new"): (NewTeamRequest, self.team_new),
            ("POST", "/team/update"): (UpdateTeamRequest, self.team_update),
            ("POST", "/team/block"): (BlockTeamRequest, lambda r: self.set_blocked(r, True)),
            ("POST", "/team/unblock"): (BlockTeamRequest, lambda r: self.set_blocked(r, False)),
            ("GET", "/team/list"): (None, self.team_list),
            ("GET", "/key/info"): (None, self.key_info),
            ("POST", "/key/service-account/generate"): (GenerateKeyRequest, self.key_generate),
            ("GET", "/key/list"): (None, self.key_list),
            ("POST", "/key/delete"): (KeyRequest, self.key_delete),
        }
        super().__init__()

    def handle(self, method: str, path: str, query: dict[str, str], body: Any, headers: Any) -> Reply:
        if (method, path) == ("GET", "/health/readiness"):
            return (200, {"status": "healthy", "db": "connected"}) if self.ready else (503, {"status": "unhealthy"})
        if headers.get("Authorization") != f"Bearer {MASTER_KEY}":
            self.errors.append(f"{path}: master key missing")
            return proxy_error(401, "Authentication Error, invalid proxy server token", "auth_error")
        if (method, path) not in self.routes:
            return 404, {"detail": "Not Found"}
        model, endpoint = self.routes[(method, path)]
        if model is None:
            return endpoint(query)
        unknown = set(body) - set(model.model_fields)
        if unknown:
            self.errors.append(f"{path}: {model.__name__} has no field {sorted(unknown)}; LiteLLM would drop it")
        try:
            return endpoint(model.model_validate(body))
        except ValidationError as err:
            self.errors.append(f"{path}: invalid {model.__name__}: {err}")
            return 422, {"detail": "invalid"}

    def add_team(self, team_id: str, metadata: dict[str, str]) -> None:
        row = NewTeamRequest(team_id=team_id, team_alias=team_id, metadata=metadata).model_dump(mode="json")
        self.teams[team_id] = {**row, "spend": 0.0}

    def add_key(self, team_id: str, metadata: dict[str, str], alias: str | None = None) -> tuple[str, str]:
        key = "sk-" + secrets.token_urlsafe(16)
        self.issued.append(key)
        self.keys[sha(key)] = {
            "token": sha(key), "key_alias": alias, "team_id": team_id, "user_id": None, "metadata": metadata,
            "key_type": "llm_api", "allowed_routes": ["llm_api_routes"], "blocked": None, "expires": None,
            "created_at": now_iso(), "models": [], "spend": 0.0,
        }  # fmt: skip
        return key, sha(key)

    def team_info(self, query: dict[str, str]) -> Reply:
        team_id = query["team_id"]
        if team_id not in self.teams:
            message = str({"message": f"Team not found, passed team id: {team_id}."})
            return proxy_error(404, message, "auth_error")
        keys = [{k: v for k, v in r.items() if k != "token"} for r in self.keys.values() if r["team_id"] == team_id]
        return 200, {"team_id": team_id, "team_info": self.teams[team_id], "keys": keys, "team_memberships": []}

    def team_new(self, req: NewTeamRequest) -> Reply:
        assert req.team_id is not None
        if req.team_id in self.fail_team_new:
            return proxy_error(500, f"db write failed (auth Bearer {MASTER_KEY})", "internal_server_error")
        if req.team_id in self.teams:
            return proxy_error(400, f"Team id = {req.team_id} already exists.", "internal_server_error")
        self.teams[req.team_id] = {**req.model_dump(mode="json"), "spend": 0.0}
        return 200, self.teams[req.team_id]

    def team_update(self, req: UpdateTeamRequest) -> Reply:
        if req.team_id not in self.teams:
            return proxy_error(404, f"Team not found, passed team_id={req.team_id}", "internal_server_error")
        self.teams[req.team_id].update(req.model_dump(mode="json", exclude_unset=True))  # nulls are written
        return 200, {"team_id": req.team_id, "data": self.teams[req.team_id]}

    def set_blocked(self, req: BlockTeamRequest, blocked: bool) -> Reply:
        self.teams[req.team_id]["blocked"] = blocked
        return 200, self.teams[req.team_id]

    def team_list(self, query: dict[str, str]) -> Reply:
        return 200, [{**t, "keys": [], "team_memberships": []} for t in self.teams.values()]

    def key_info(self, query: dict[str, str]) -> Reply:
        if query["key"].startswith("sk-"):
            self.errors.append("/key/info: raw key in the URL")
        row = self.keys.get(query["key"])
        if row is None:
            return proxy_error(404, "Key not found in database", "not_found_error")
        return 200, {"key": query["key"], "info": {k: v for k, v in row.items() if k != "token"}}

    def key_generate(self, req: GenerateKeyRequest) -> Reply:
        if req.team_id not in self.teams:
            return 400, {"error": {"message": "team_id does not exist in the database."}}
        if self.alias_collisions or any(r["key_alias"] == req.key_alias for r in self.keys.values()):
            self.alias_collisions = max(self.alias_collisions - 1, 0)
            return proxy_error(400, f"Key with alias '{req.key_alias}' already exists.", "bad_request_error")
        key, token = self.add_key(req.team_id, dict(req.metadata or {}), req.key_alias)
        self.keys[token]["key_type"] = req.key_type.value if req.key_type else None
        return 200, {**self.keys[token], "key": key, "token_id": token}

    def key_list(self, query: dict[str, str]) -> Reply:
        rows = sorted((r for r in self.keys.values() if r["team_id"] == query.get("team_id")), key=lambda r: r["token"])
        page, size = int(query.get("page", 1)), int(query.get("size", 10))
        chosen = rows[(page - 1) * size : page * size]
        keys = chosen if query.get("return_full_object") == "true" else [r["token"] for r in chosen]
        pages = -(-len(rows) // size)
        return 200, {"keys": keys, "total_count": len(rows), "current_page": page, "total_pages": pages}

    def key_delete(self, req: KeyRequest) -> Reply:
        for token in req.keys or []:
            if token.startswith("sk-") or token not in self.keys:
                self.errors.append("/key/delete: expected the hash of an existing key")
            self.keys.pop(token, None)
        return 200, {"deleted_keys": req.keys}


class FakeKubernetes(FakeApi):
    PATH = re.compile(r"^/api/v1/namespaces/([a-z0-9-]+)/secrets(?:/([a-z0-9.-]+))?$")

    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], dict[str, Any]] = {}
        super().__init__()

    @staticmethod
    def status(code: int, reason: str, message: str) -> Reply:
        status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "message": message}
        return code, status | {"code": code}

    def handle(self, method: str, path: str, query: dict[str, str], body: Any, headers: Any) -> Reply:
        if headers.get("Authorization") != f"Bearer {K8S_TOKEN}":
            self.errors.append(f"{path}: service account token missing")
            return self.status(401, "Unauthorized", "Unauthorized")
        match = self.PATH.match(path)
        assert match, path
        namespace, name = match.group(1), match.group(2) or (body or {}).get("metadata", {}).get("name")
        stored = self.secrets.get((namespace, name))
        if method == "GET":
            return (200, stored) if stored else self.status(404, "NotFound", f'secrets "{name}" not found')
        meta = body["metadata"]
        if body["kind"] != "Secret" or body["type"] != "Opaque" or meta.get("namespace", namespace) != namespace:
            self.errors.append(f"malformed Secret {body}")
        for value in body["data"].values():
            base64.b64decode(value, validate=True)
        if method == "POST" and stored:
            return self.status(409, "AlreadyExists", f'secrets "{name}" already exists')
        if method == "PUT" and (not stored or meta.get("resourceVersion") != stored["metadata"]["resourceVersion"]):
            self.errors.append(f"PUT {name} with stale resourceVersion")
            return self.status(409, "Conflict", "the object has been modified")
        version = int(stored["metadata"]["resourceVersion"]) + 1 if stored else 1
        self.secrets[(namespace, name)] = {**body, "metadata": {**meta, "resourceVersion": str(version)}}
        return (201 if method == "POST" else 200), self.secrets[(namespace, name)]

    def data(self, team: str) -> dict[str, str]:
        secret = self.secrets[(f"aif-team-{team}", "router-key")]
        return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def team(name: str, **overrides: Any) -> dict[str, Any]:
    spec = {"namespace": f"aif-team-{name}", "models": ["llama-31-8b", "auto-public"], "maxBudget": 500.0}
    spec |= {"budgetDuration": "30d", "rpmLimit": 600, "tpmLimit": 200000, "keyMaxAgeDays": 90}
    return spec | overrides


NULLS = {"maxBudget": None, "budgetDuration": None, "rpmLimit": None, "tpmLimit": None, "keyMaxAgeDays": None}
TEAMS = {"alpha": team("alpha"), "beta": team("beta", models=["auto-public"], **NULLS)}


@pytest.fixture
def litellm() -> Iterator[FakeLiteLLM]:
    fake = FakeLiteLLM()
    yield fake
    fake.close()


@pytest.fixture
def kube() -> Iterator[FakeKubernetes]:
    fake = FakeKubernetes()
    yield fake
    fake.close()


@pytest.fixture
def run(tmp_path: Path, litellm: FakeLiteLLM, kube: FakeKubernetes) -> Callable[..., subprocess.CompletedProcess[str]]:
    (tmp_path / "token").write_text(K8S_TOKEN + "\n")
    (tmp_path / "ca.crt").write_text(CA_PEM)

    def _run(teams: dict[str, Any], ca: bool = True, **extra_env: str) -> subprocess.CompletedProcess[str]:
        config = {"environment": "test-eu", "managedBy": "ai-factory", "secretName": "router-key", "teams": teams}
        (tmp_path / "teams.json").write_text(json.dumps(config))
        env = {
            "PATH": os.environ.get("PATH", ""), "ROUTER_URL": litellm.url, "LITELLM_MASTER_KEY": MASTER_KEY,
            "TEAMS_FILE": str(tmp_path / "teams.json"), "K8S_API_URL": kube.url,
            "K8S_TOKEN_FILE": str(tmp_path / "token"), "READY_TIMEOUT_SECONDS": "10",
        }  # fmt: skip
        if ca:
            env["ROUTER_CA_FILE"] = str(tmp_path / "ca.crt")
        litellm.log.clear()
        kube.log.clear()
        result = subprocess.run(
            [sys.executable, str(SCRIPT)], env=env | extra_env, capture_output=True, text=True, timeout=60
        )
        assert litellm.errors == [] and kube.errors == []
        output = result.stdout + result.stderr
        for secret in (MASTER_KEY, K8S_TOKEN, *litellm.issued):
            assert secret not in output and base64.b64encode(secret.encode()).decode() not in output
        return result

    return _run


def managed(litellm: FakeLiteLLM, team_id: str) -> list[str]:
    return [t for t, r in litellm.keys.items() if r["team_id"] == team_id and r["metadata"].get("managed-by")]


def backdate(litellm: FakeLiteLLM, token: str, **change: Any) -> None:
    """Pretend the key was issued in an earlier second: its alias, unique in LiteLLM, carries that second."""
    litellm.keys[token].update({"key_alias": "ai-factory/alpha/20200101T000000Z"} | change)


def test_first_run_creates_each_team_with_one_key_in_its_secret(run, litellm, kube) -> None:
    result = run(TEAMS)
    assert (result.returncode, result.stderr) == (0, "")
    assert litellm.bodies("POST", "/team/new") == [
        {"team_id": "alpha", "team_alias": "alpha", "models": ["llama-31-8b", "auto-public"], "max_budget": 500.0,
         "budget_duration": "30d", "rpm_limit": 600, "tpm_limit": 200000, "metadata": OURS},
        {"team_id": "beta", "team_alias": "beta", "models": ["auto-public"], "max_budget": None,
         "budget_duration": None, "rpm_limit": None, "tpm_limit": None, "metadata": OURS},
    ]  # fmt: skip
    for name in TEAMS:
        [token] = [t for t, r in litellm.keys.items() if r["team_id"] == name]
        row, data = litellm.keys[token], kube.data(name)
        assert (row["key_type"], row["user_id"], row["metadata"]) == ("llm_api", None, OURS)
        assert re.fullmatch(rf"ai-factory/{name}/\d{{8}}T\d{{6}}Z", row["key_alias"])
        assert data == {"api-key": data["api-key"], "base-url": litellm.url, "ca.crt": CA_PEM}
        assert sha(data["api-key"]) == token
        meta = kube.secrets[(f"aif-team-{name}", "router-key")]["metadata"]
        assert meta["labels"] == {"app.kubernetes.io/managed-by": "ai-factory"}
        assert meta["annotations"] == {"ai-factory.io/key-alias": row["key_alias"]}
        assert row["key_alias"] in result.stdout
    generated = litellm.bodies("POST", "/key/service-account/generate")
    assert [sorted(b) for b in generated] == [["key_alias", "key_type", "metadata", "team_id"]] * 2


def test_second_run_with_the_same_config_changes_nothing(run, litellm, kube) -> None:
    run(TEAMS)
    keys, stored = dict(litellm.keys), dict(kube.secrets)
    result = run(TEAMS)
    assert result.returncode == 0
    assert litellm.writes() == [] and kube.writes() == []
    assert (litellm.keys, kube.secrets) == (keys, stored)


def test_changed_budget_and_models_update_the_team_and_keep_foreign_metadata(run, litellm, kube) -> None:
    run(TEAMS)
    litellm.teams["alpha"]["metadata"]["owner"] = "data-science"
    changed = TEAMS | {"alpha": team("alpha", models=["llama-31-8b"], maxBudget=None, rpmLimit=1200)}
    assert run(changed).returncode == 0
    assert litellm.bodies("POST", "/team/update") == [
        {"team_id": "alpha", "team_alias": "alpha", "models": ["llama-31-8b"], "max_budget": None,
         "budget_duration": "30d", "rpm_limit": 1200, "tpm_limit": 200000, "metadata": OURS | {"owner": "data-science"}}
    ]  # fmt: skip
    alpha = litellm.teams["alpha"]
    assert (alpha["max_budget"], alpha["models"], alpha["rpm_limit"]) == (None, ["llama-31-8b"], 1200)
    assert litellm.bodies("POST", "/key/service-account/generate") == [] and kube.writes() == []


def test_lost_secret_gets_a_new_key_and_only_managed_old_keys_are_deleted(run, litellm, kube) -> None:
    run(TEAMS)
    [old] = managed(litellm, "alpha")
    backdate(litellm, old)
    _, foreign = litellm.add_key("alpha", {"owner": "someone"}, alias="hand-made")
    del kube.secrets[("aif-team-alpha", "router-key")]
    assert run(TEAMS).returncode == 0
    [new] = managed(litellm, "alpha")
    assert new != old and sha(kube.data("alpha")["api-key"]) == new
    assert old not in litellm.keys and foreign in litellm.keys
    assert litellm.bodies("POST", "/key/delete") == [{"keys": [old]}]
    assert kube.seq("POST", "/api/v1/namespaces/aif-team-alpha/secrets") < litellm.seq("POST", "/key/delete")
    assert len(litellm.bodies("POST", "/key/service-account/generate")) == 1  # beta kept its key


@pytest.mark.parametrize(
    ("change", "replaced", "graced"),
    [
        ({"created_at": now_iso(days_ago=91)}, True, True),
        ({"created_at": now_iso(days_ago=89)}, False, False),
        ({"blocked": True}, True, False),
        ({"expires": now_iso(days_ago=1)}, True, False),
        ({"team_id": "gamma"}, True, False),
    ],
    ids=["older-than-max-age", "younger-than-max-age", "blocked", "expired", "other-team"],
)
def test_stored_key_is_replaced_only_when_unusable(run, litellm, kube, change, replaced, graced) -> None:
    run(TEAMS)
    [old] = managed(litellm, "alpha")
    backdate(litellm, old, **change)
    issued = len(litellm.issued)
    assert run(TEAMS).returncode == 0
    assert (sha(kube.data("alpha")["api-key"]) != old) is replaced
    assert len(litellm.issued) - issued == int(replaced)
    assert kube.writes() == ([("PUT", "/api/v1/namespaces/aif-team-alpha/secrets/router-key")] if replaced else [])
    # Only a key replaced for its age still works, and only it is kept through the grace period.
    assert (PREVIOUS_ALIAS in _annotations(kube, "alpha")) is graced
    if change.get("blocked") or change.get("expires"):
        assert old not in litellm.keys and litellm.bodies("POST", "/key/delete") == [{"keys": [old]}]
    else:
        assert old in litellm.keys and litellm.bodies("POST", "/key/delete") == []


PREVIOUS_ALIAS = "ai-factory.io/previous-key-alias"
PREVIOUS_UNTIL = "ai-factory.io/previous-key-valid-until"
SECRET_PATH = "/api/v1/namespaces/aif-team-alpha/secrets/router-key"


def _annotations(kube: FakeKubernetes, name: str) -> dict[str, str]:
    return kube.secrets[(f"aif-team-{name}", "router-key")]["metadata"].get("annotations") or {}


def _valid_until(kube: FakeKubernetes, name: str) -> dt.datetime:
    return dt.datetime.fromisoformat(_annotations(kube, name)[PREVIOUS_UNTIL])


def test_rotated_key_stays_valid_through_the_grace_period_then_goes(run, litellm, kube) -> None:
    """Workloads that read router-key into their environment keep the replaced key until they restart: it
    works for keyGraceHours after the rotation and is deleted by the first run after that."""
    run(TEAMS)
    kube.secrets[("aif-team-alpha", "router-key")]["metadata"]["annotations"]["team.example/owner"] = "ds"
    [old] = managed(litellm, "alpha")
    backdate(litellm, old, created_at=now_iso(days_ago=91))
    old_alias = litellm.keys[old]["key_alias"]
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = run(TEAMS)
    assert result.returncode == 0 and f"replaced key {old_alias} stays valid until" in result.stdout
    [new] = [t for t in managed(litellm, "alpha") if t != old]
    assert sha(kube.data("alpha")["api-key"]) == new and old in litellm.keys
    assert litellm.bodies("POST", "/key/delete") == []
    annotations = _annotations(kube, "alpha")
    assert annotations == {
        "ai-factory.io/key-alias": litellm.keys[new]["key_alias"],
        PREVIOUS_ALIAS: old_alias,
        PREVIOUS_UNTIL: annotations[PREVIOUS_UNTIL],
        "team.example/owner": "ds",
    }
    grace = _valid_until(kube, "alpha") - started
    assert dt.timedelta(hours=24) <= grace <= dt.timedelta(hours=24, minutes=1)
    # Never a key (nor its hash) outside the Secret's data.
    text = json.dumps(kube.secrets[("aif-team-alpha", "router-key")]["metadata"])
    assert not any(k in text for k in litellm.issued) and old not in text and new not in text

    # Within the grace period: nothing to do, the old key keeps working.
    assert run(TEAMS).returncode == 0
    assert litellm.writes() == [] and kube.writes() == [] and old in litellm.keys

    # Once it is over (the next daily run after it), the old key goes and the Secret forgets it.
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat(timespec="seconds")
    kube.secrets[("aif-team-alpha", "router-key")]["metadata"]["annotations"][PREVIOUS_UNTIL] = past
    assert run(TEAMS).returncode == 0
    assert litellm.bodies("POST", "/key/delete") == [{"keys": [old]}] and old not in litellm.keys
    assert kube.writes() == [("PUT", SECRET_PATH)]
    assert kube.seq("PUT", SECRET_PATH) < litellm.seq("POST", "/key/delete")
    assert _annotations(kube, "alpha") == {
        "ai-factory.io/key-alias": litellm.keys[new]["key_alias"],
        "team.example/owner": "ds",
    }
    assert sha(kube.data("alpha")["api-key"]) == new
    assert run(TEAMS).returncode == 0
    assert litellm.writes() == [] and kube.writes() == []


def test_grace_period_follows_the_teams_config_and_keeps_one_replaced_key(run, litellm, kube) -> None:
    teams = {"alpha": team("alpha", keyGraceHours=72)}
    run(teams)
    [first] = managed(litellm, "alpha")
    backdate(litellm, first, created_at=now_iso(days_ago=91))
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    run(teams)
    grace = _valid_until(kube, "alpha") - started
    assert dt.timedelta(hours=72) <= grace <= dt.timedelta(hours=72, minutes=1)
    [second] = [t for t in managed(litellm, "alpha") if t != first]
    # The second key ages out within the first one's grace: the first goes now, the second takes its place.
    litellm.keys[second].update(created_at=now_iso(days_ago=91), key_alias="ai-factory/alpha/20200202T000000Z")
    assert run(teams).returncode == 0
    assert litellm.bodies("POST", "/key/delete") == [{"keys": [first]}]
    assert sorted(managed(litellm, "alpha")) == sorted([second, sha(kube.data("alpha")["api-key"])])
    assert _annotations(kube, "alpha")[PREVIOUS_ALIAS] == "ai-factory/alpha/20200202T000000Z"


def test_a_lost_secret_revokes_the_old_key_at_once(run, litellm, kube) -> None:
    """Deleting the Secret is how an operator rotates a key now (README): no grace for the old key."""
    run(TEAMS)
    [first] = managed(litellm, "alpha")
    backdate(litellm, first, created_at=now_iso(days_ago=91))
    run(TEAMS)
    [second] = [t for t in managed(litellm, "alpha") if t != first]
    del kube.secrets[("aif-team-alpha", "router-key")]
    assert run(TEAMS).returncode == 0
    [third] = managed(litellm, "alpha")
    assert third not in (first, second) and sha(kube.data("alpha")["api-key"]) == third
    assert sorted(b["keys"][0] for b in litellm.bodies("POST", "/key/delete")) == sorted([first, second])
    assert PREVIOUS_ALIAS not in _annotations(kube, "alpha")


def test_duplicate_alias_is_retried_under_a_fresh_alias(run, litellm, kube) -> None:
    litellm.alias_collisions = 1
    assert run({"alpha": TEAMS["alpha"]}).returncode == 0
    first, second = (body["key_alias"] for body in litellm.bodies("POST", "/key/service-account/generate"))
    [token] = litellm.keys
    assert first < second == litellm.keys[token]["key_alias"] and sha(kube.data("alpha")["api-key"]) == token


def test_kept_key_secret_is_refreshed_when_base_url_or_ca_change(run, litellm, kube) -> None:
    run(TEAMS, ca=False)
    key = kube.data("alpha")["api-key"]
    assert "ca.crt" not in kube.data("alpha")
    assert run(TEAMS).returncode == 0
    assert kube.data("alpha") == {"api-key": key, "base-url": litellm.url, "ca.crt": CA_PEM}
    assert len(kube.writes()) == 2 and litellm.writes() == []


def test_unconfigured_managed_team_is_blocked_and_unblocked_when_configured_again(run, litellm) -> None:
    litellm.add_team("hand-made", {})
    litellm.add_team("other-env", {"managed-by": "ai-factory", "environment": "prod-us"})
    run(TEAMS)
    result = run({"alpha": TEAMS["alpha"]})
    assert result.returncode == 0 and "beta: blocked" in result.stdout
    assert litellm.bodies("POST", "/team/block") == [{"team_id": "beta"}]
    assert litellm.teams["beta"]["blocked"] is True and managed(litellm, "beta")  # kept, spend history intact
    assert not litellm.teams["hand-made"]["blocked"] and not litellm.teams["other-env"]["blocked"]
    assert run(TEAMS).returncode == 0
    assert litellm.bodies("POST", "/team/unblock") == [{"team_id": "beta"}]
    assert litellm.teams["beta"]["blocked"] is False
    assert litellm.bodies("POST", "/key/service-account/generate") == []


@pytest.mark.parametrize("failure", ["connection-refused", "503"])
def test_router_never_ready_exits_1_with_one_line_within_the_timeout(run, litellm, kube, failure) -> None:
    extra = {"READY_TIMEOUT_SECONDS": "2"}
    if failure == "503":
        litellm.ready = False
    else:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            extra["ROUTER_URL"] = f"http://127.0.0.1:{probe.getsockname()[1]}"
    started = time.monotonic()
    result = run(TEAMS, **extra)
    assert time.monotonic() - started < 6
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert "router not ready" in line and "/health/readiness" in line
    assert kube.log == [] and all(path == "/health/readiness" for _, _, path, _, _ in litellm.log)


def test_one_failing_team_does_not_stop_the_others(run, litellm, kube) -> None:
    litellm.fail_team_new = {"alpha"}
    result = run(TEAMS | {"gamma": team("gamma", models=[])})
    assert result.returncode == 1
    failed = sorted(line for line in result.stderr.splitlines() if line.startswith("FAILED"))
    assert [line.split(":")[0] for line in failed] == ["FAILED alpha", "FAILED gamma"]
    assert "HTTP 500" in failed[0] and "db write failed" in failed[0]
    assert "every model" in failed[1]
    assert len(litellm.bodies("POST", "/team/new")) == 5  # alpha tried 4 times, then beta
    assert "beta" in litellm.teams and sha(kube.data("beta")["api-key"]) in litellm.keys
    assert ("aif-team-alpha", "router-key") not in kube.secrets and "gamma" not in litellm.teams
