"""Reconcile LiteLLM proxy teams and one virtual key per team, stored as a Kubernetes Secret.

Runs in-cluster as a Job inside the LiteLLM image, so it uses the standard library only. Inputs
come from the environment (ROUTER_URL, LITELLM_MASTER_KEY, ROUTER_CA_FILE, TEAMS_FILE, K8S_API_URL,
K8S_TOKEN_FILE, K8S_CA_FILE, READY_TIMEOUT_SECONDS); see the platform's router component for the
TEAMS_FILE schema. Per configured team: create or update the LiteLLM team (alias, models, budget,
rate limits, managed-by metadata), unblock it if blocked, keep or reissue its service-account key
and write that key to the team's Secret, then delete the team's other keys carrying our managed-by
metadata. A key replaced for its age is the exception: it stays valid for the team's keyGraceHours
(the Secret's annotations record its alias and until when, never the key) and is deleted by the
first run after that; a lost Secret or an unusable key leaves no old key behind. Managed teams no
longer configured are blocked, never deleted (that would drop their spend history). Exit status 1
when any team failed; each failure is printed as `FAILED <team>: ...`.

What LiteLLM (1.101-1.104) does with these requests, and what the script therefore cannot do:
- `/team/update` writes every field present in the body, explicit nulls included
  (`data.json(exclude_unset=True)`), so dropping maxBudget, budgetDuration, rpmLimit or tpmLimit
  from the config does clear them. `/team/new`, however, replaces a null max_budget, rpm_limit or
  tpm_limit with the proxy's `default_team_params` when those are configured; the next run sees the
  difference and clears it again with an update.
- `/team/update` replaces the whole metadata dict, so the script sends the team's current metadata
  with its two keys merged in rather than only its own keys.
- An empty `models` list means "every model" to LiteLLM; a configured team without models is refused.
- A team whose soft_budget (set by hand) is not below the configured max_budget is rejected by
  LiteLLM with a 400 and reported as failed; the script does not manage soft budgets.
- A configured team id that already exists without our metadata is adopted, not refused.
- An unconfigured team is blocked only when both its managed-by and environment metadata are ours, so
  environments sharing one proxy leave each other's teams alone; keys are cleaned up by managed-by
  within the team. Keys carry no limits of their own: they inherit the team's models and limits.
- Transient errors are retried, POSTs included. If the proxy applied a POST but answered 5xx, the
  retried `/team/new` fails with "already exists" (the team heals on the next run); a retried key
  generation collides on its alias and is reissued under the next second's alias, and the orphan
  managed key is deleted with the other old keys. Runs must not overlap (concurrencyPolicy: Forbid).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.client
import json
import os
import re
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
HTTP_TIMEOUT_SECONDS = 15.0
RETRY_DELAYS_SECONDS = (0.5, 1.0, 2.0)
READY_POLL_SECONDS = 1.0
KEY_PAGE_SIZE = 100
SECRET_LABEL = "app.kubernetes.io/managed-by"
ALIAS_ANNOTATION = "ai-factory.io/key-alias"
PREVIOUS_ALIAS_ANNOTATION = "ai-factory.io/previous-key-alias"
"""Alias (never the key) of the key the last rotation replaced, still valid until the time below."""
PREVIOUS_UNTIL_ANNOTATION = "ai-factory.io/previous-key-valid-until"
OWN_ANNOTATIONS = (ALIAS_ANNOTATION, PREVIOUS_ALIAS_ANNOTATION, PREVIOUS_UNTIL_ANNOTATION)
DEFAULT_GRACE_HOURS = 24

# Every credential the process handles is registered here, so no error text can print one.
_SECRETS: set[str] = set()
_KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-]{4,}")


def remember_secret(value: str) -> None:
    if len(value) >= 4:
        _SECRETS.add(value)
        _SECRETS.add(base64.b64encode(value.encode()).decode())


def redact(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return _KEY_PATTERN.sub("sk-***", text)


def key_hash(key: str) -> str:
    """LiteLLM stores and accepts sha256(key) hex wherever it takes a key (`hash_token`)."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class TeamSpec:
    team_id: str
    namespace: str
    models: list[str]
    max_budget: float | None
    budget_duration: str | None
    rpm_limit: int | None
    tpm_limit: int | None
    key_max_age_days: int | None
    key_grace_hours: int = DEFAULT_GRACE_HOURS


@dataclass(frozen=True)
class Config:
    environment: str
    managed_by: str
    secret_name: str
    teams: dict[str, TeamSpec]
    invalid: dict[str, str]

    @property
    def metadata(self) -> dict[str, str]:
        return {"managed-by": self.managed_by, "environment": self.environment}


def _optional(raw: dict[str, Any], name: str, kinds: tuple[type, ...]) -> Any:
    value = raw.get(name)
    # bool is an int subclass; a `true` limit is a config bug, not 1.
    if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)):
        raise ValueError(f"{name} must be {' or '.join(k.__name__ for k in kinds)} or null")
    return value


def parse_team(team_id: str, raw: Any) -> TeamSpec:
    if not isinstance(raw, dict):
        raise ValueError("team entry must be an object")
    namespace, models = raw.get("namespace"), raw.get("models")
    if not isinstance(namespace, str) or not namespace:
        raise ValueError("namespace must be a non-empty string")
    if not isinstance(models, list) or not all(isinstance(m, str) and m for m in models):
        raise ValueError("models must be a list of model names")
    if not models:
        raise ValueError("models is empty, which LiteLLM reads as access to every model")
    max_age = _optional(raw, "keyMaxAgeDays", (int,))
    if max_age is not None and max_age <= 0:
        raise ValueError("keyMaxAgeDays must be positive")
    grace = _optional(raw, "keyGraceHours", (int,))
    if grace is not None and grace < 0:
        raise ValueError("keyGraceHours must not be negative")
    budget = _optional(raw, "maxBudget", (int, float))
    return TeamSpec(
        team_id=team_id,
        namespace=namespace,
        models=list(models),
        max_budget=None if budget is None else float(budget),
        budget_duration=_optional(raw, "budgetDuration", (str,)),
        rpm_limit=_optional(raw, "rpmLimit", (int,)),
        tpm_limit=_optional(raw, "tpmLimit", (int,)),
        key_max_age_days=max_age,
        key_grace_hours=DEFAULT_GRACE_HOURS if grace is None else grace,
    )


def load_config(path: str) -> Config:
    with open(path, encoding="utf-8") as handle:
        raw = json.load(handle)
    for name in ("environment", "managedBy", "secretName"):
        if not isinstance(raw.get(name), str) or not raw[name]:
            raise ValueError(f"{path}: {name} must be a non-empty string")
    if not isinstance(raw.get("teams"), dict):
        raise ValueError(f"{path}: teams must be an object")
    teams: dict[str, TeamSpec] = {}
    invalid: dict[str, str] = {}
    for team_id, team in raw["teams"].items():
        try:
            teams[team_id] = parse_team(team_id, team)
        except ValueError as err:
            invalid[team_id] = f"invalid config: {err}"
    return Config(raw["environment"], raw["managedBy"], raw["secretName"], teams, invalid)


class ApiError(Exception):
    def __init__(self, method: str, path: str, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail
        super().__init__(f"{method} {path} -> HTTP {status}: {detail}")


def _error_detail(body: bytes) -> str:
    """The API's own error message (LiteLLM `error.message`, Kubernetes Status `message`), redacted."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return "(no JSON error body)"
    message: Any = parsed
    if isinstance(parsed, dict):
        error = parsed.get("error")
        message = (error.get("message") if isinstance(error, dict) else error) or parsed.get("message")
        message = message or parsed.get("detail") or ""
    return redact(str(message))[:300]


def _transient(err: BaseException) -> bool:
    if isinstance(err, urllib.error.HTTPError):
        return err.code >= 500
    # A certificate that does not verify will not verify on the next attempt either.
    if isinstance(getattr(err, "reason", err), ssl.SSLError):
        return False
    return isinstance(err, urllib.error.URLError | TimeoutError | ConnectionError | http.client.HTTPException)


class JsonClient:
    """Bearer-authenticated JSON over HTTP(S) with a timeout and retries of transient failures."""

    def __init__(self, base_url: str, token: str, ca_file: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
        if self.base_url.startswith("https://"):
            handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca_file)))
        # Both APIs are cluster-internal: a pod-wide HTTPS_PROXY must never see the bearer tokens.
        self._opener = urllib.request.build_opener(*handlers)

    def _send(
        self, method: str, path: str, query: dict[str, Any] | None, body: Any, timeout: float = HTTP_TIMEOUT_SECONDS
    ) -> tuple[int, bytes]:
        url = self.base_url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        with self._opener.open(request, timeout=timeout) as response:
            return response.status, response.read()

    def probe(self, path: str, timeout: float) -> int | None:
        """One attempt, no retries: the status code, or None when nothing answered."""
        try:
            return self._send("GET", path, None, None, timeout)[0]
        except urllib.error.HTTPError as err:
            err.close()
            return err.code
        except (urllib.error.URLError, OSError, http.client.HTTPException):
            return None

    def call(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        tolerate: tuple[int, ...] = (),
    ) -> tuple[int, Any]:
        """(status, parsed body) of a 2xx or tolerated answer; anything else raises ApiError."""
        for attempt in range(len(RETRY_DELAYS_SECONDS) + 1):
            try:
                status, raw = self._send(method, path, query, body)
                return status, json.loads(raw) if raw else None
            except urllib.error.HTTPError as err:
                payload = err.read()
                err.close()
                if err.code in tolerate:
                    return err.code, json.loads(payload) if payload else None
                if not _transient(err) or attempt == len(RETRY_DELAYS_SECONDS):
                    raise ApiError(method, path, err.code, _error_detail(payload)) from None
            except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
                if not _transient(err) or attempt == len(RETRY_DELAYS_SECONDS):
                    reason = getattr(err, "reason", err)
                    raise ApiError(method, path, 0, redact(f"{type(err).__name__}: {reason}")) from None
            time.sleep(RETRY_DELAYS_SECONDS[attempt])
        raise AssertionError("unreachable")


def wait_ready(router: JsonClient, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if router.probe("/health/readiness", min(HTTP_TIMEOUT_SECONDS, max(remaining, 1.0))) == 200:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(READY_POLL_SECONDS, remaining))


def log(message: str) -> None:
    print(redact(message), flush=True)


def team_fields(spec: TeamSpec) -> dict[str, Any]:
    return {
        "team_id": spec.team_id,
        "team_alias": spec.team_id,
        "models": spec.models,
        "max_budget": spec.max_budget,
        "budget_duration": spec.budget_duration,
        "rpm_limit": spec.rpm_limit,
        "tpm_limit": spec.tpm_limit,
    }


def reconcile_team(router: JsonClient, spec: TeamSpec, config: Config) -> None:
    # A missing team is `HTTP 404 {"error": {"message": "{'message': 'Team not found, ...'}"}}`;
    # any other 404 (a wrong ROUTER_URL path, say) must not be mistaken for it.
    status, found = router.call("GET", "/team/info", query={"team_id": spec.team_id}, tolerate=(404,))
    if status == 404:
        detail = _error_detail(json.dumps(found).encode())
        if "Team not found" not in detail:
            raise ApiError("GET", "/team/info", 404, detail)
        router.call("POST", "/team/new", body={**team_fields(spec), "metadata": config.metadata})
        log(f"{spec.team_id}: created team")
        return
    current = found.get("team_info") or {}
    metadata = current.get("metadata") or {}
    desired = team_fields(spec)
    drift = sorted(k for k, v in desired.items() if current.get(k) != v)
    if any(metadata.get(k) != v for k, v in config.metadata.items()):
        drift.append("metadata")
    if drift:
        router.call("POST", "/team/update", body={**desired, "metadata": {**metadata, **config.metadata}})
        log(f"{spec.team_id}: updated team ({', '.join(drift)})")
    if current.get("blocked"):
        router.call("POST", "/team/unblock", body={"team_id": spec.team_id})
        log(f"{spec.team_id}: unblocked team")


def parse_time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def key_unusable(info: dict[str, Any] | None, spec: TeamSpec, now: dt.datetime) -> str | None:
    """Why the stored key no longer works for the team (nothing to keep through a grace period), or None."""
    if info is None:
        return "key unknown to LiteLLM"
    if info.get("team_id") != spec.team_id:
        return "key belongs to another team"
    if info.get("blocked"):
        return "key is blocked"
    expires = parse_time(info.get("expires"))
    if expires is not None and expires <= now:
        return "key expired"
    return None


def key_problem(info: dict[str, Any] | None, spec: TeamSpec, now: dt.datetime) -> str | None:
    """Why the stored key must be replaced, or None to keep it."""
    unusable = key_unusable(info, spec, now)
    if unusable is not None:
        return unusable
    assert info is not None
    if spec.key_max_age_days is not None:
        created = parse_time(info.get("created_at"))
        if created is None:
            return "key creation time unknown"
        if now - created >= dt.timedelta(days=spec.key_max_age_days):
            return f"key older than {spec.key_max_age_days} days"
    return None


def secret_path(namespace: str, name: str | None = None) -> str:
    base = f"/api/v1/namespaces/{urllib.parse.quote(namespace, safe='')}/secrets"
    return base if name is None else f"{base}/{urllib.parse.quote(name, safe='')}"


def encode(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def decode(value: Any) -> str | None:
    try:
        return base64.b64decode(str(value), validate=True).decode()
    except ValueError:
        return None


def own_annotations(secret: dict[str, Any] | None) -> dict[str, str]:
    """The Secret's annotations this script manages (OWN_ANNOTATIONS) that it carries."""
    annotations = ((secret or {}).get("metadata") or {}).get("annotations") or {}
    return {k: annotations[k] for k in OWN_ANNOTATIONS if k in annotations}


def grace_annotations(previous: tuple[str, dt.datetime] | None) -> dict[str, str]:
    if previous is None:
        return {}
    alias, until = previous
    return {PREVIOUS_ALIAS_ANNOTATION: alias, PREVIOUS_UNTIL_ANNOTATION: until.isoformat(timespec="seconds")}


def previous_key(secret: dict[str, Any] | None) -> tuple[str, dt.datetime] | None:
    """(alias, valid until) of the key the last rotation replaced, as recorded on the Secret."""
    annotations = own_annotations(secret)
    alias = annotations.get(PREVIOUS_ALIAS_ANNOTATION)
    try:
        until = parse_time(annotations.get(PREVIOUS_UNTIL_ANNOTATION))
    except ValueError:
        until = None  # unreadable: treated as over, the old key goes
    return (alias, until) if alias and until else None


def write_secret(
    k8s: JsonClient,
    config: Config,
    spec: TeamSpec,
    existing: dict[str, Any] | None,
    data: dict[str, str],
    annotations: dict[str, str],
) -> None:
    """Create or replace the Secret with `data`; of OWN_ANNOTATIONS it carries exactly `annotations`."""
    old_meta = (existing or {}).get("metadata") or {}
    foreign = {k: v for k, v in (old_meta.get("annotations") or {}).items() if k not in OWN_ANNOTATIONS}
    metadata: dict[str, Any] = {
        "name": config.secret_name,
        "namespace": spec.namespace,
        "labels": {**(old_meta.get("labels") or {}), SECRET_LABEL: config.managed_by},
        "annotations": {**foreign, **annotations},
    }
    body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": metadata, "data": data}
    if existing is None:
        k8s.call("POST", secret_path(spec.namespace), body=body)
    else:
        # resourceVersion makes the API server refuse the write if the Secret changed since we read it.
        metadata["resourceVersion"] = old_meta.get("resourceVersion")
        k8s.call("PUT", secret_path(spec.namespace, config.secret_name), body=body)


def managed_keys(router: JsonClient, team_id: str, managed_by: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        query = {"team_id": team_id, "return_full_object": "true", "page": page, "size": KEY_PAGE_SIZE}
        _, listing = router.call("GET", "/key/list", query=query)
        for key in listing.get("keys") or []:
            if isinstance(key, dict) and (key.get("metadata") or {}).get("managed-by") == managed_by:
                found.append(key)
        if page >= int(listing.get("total_pages") or 0):
            return found
        page += 1


def issue_key(router: JsonClient, spec: TeamSpec, config: Config) -> tuple[str, str]:
    """A new service-account key of the team (owned by no user), limited to LLM API routes."""
    for attempt in range(3):
        alias = f"{config.managed_by}/{spec.team_id}/{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
        body = {"team_id": spec.team_id, "key_alias": alias, "key_type": "llm_api", "metadata": config.metadata}
        try:
            _, issued = router.call("POST", "/key/service-account/generate", body=body)
            return alias, str(issued["key"])
        except ApiError as err:
            # Aliases are unique and carry the second: a second issue within the same second (or a retried
            # POST the proxy had applied) collides, so wait for the next second and take a fresh alias.
            if err.status != 400 or "already exists" not in err.detail or attempt == 2:
                raise
            time.sleep(1.0 - time.time() % 1.0 + 0.01)
    raise AssertionError("unreachable")


def reconcile_key(
    router: JsonClient, k8s: JsonClient, spec: TeamSpec, config: Config, base_data: dict[str, str], now: dt.datetime
) -> None:
    where = f"{spec.namespace}/{config.secret_name}"
    status, secret = k8s.call("GET", secret_path(spec.namespace, config.secret_name), tolerate=(404,))
    secret = secret if status == 200 else None
    stored = decode(((secret or {}).get("data") or {}).get("api-key", ""))
    problem = "no key in Secret" if not stored else None
    info: dict[str, Any] | None = None
    if stored:
        remember_secret(stored)
        status, found = router.call("GET", "/key/info", query={"key": key_hash(stored)}, tolerate=(404,))
        info = found.get("info") if status == 200 else None
        problem = key_problem(info, spec, now)
    # The key the last rotation replaced stays valid until its grace period ends (workloads that read
    # the key into their environment hold it until they restart); the first run after that deletes it.
    previous = previous_key(secret)
    if previous is not None and now >= previous[1]:
        previous = None
    if secret is not None and stored and problem is None:
        keep_hash = key_hash(stored)
        data = {**base_data, "api-key": encode(stored)}
        annotations = {k: v for k, v in own_annotations(secret).items() if k == ALIAS_ANNOTATION}
        annotations |= grace_annotations(previous)
        if secret.get("data") != data or own_annotations(secret) != annotations:
            write_secret(k8s, config, spec, secret, data, annotations)
            changed = "base-url/ca.crt" if secret.get("data") != data else "the replaced key's grace"
            log(f"{spec.team_id}: refreshed {changed} in Secret {where}")
    else:
        log(f"{spec.team_id}: issuing a new key ({problem})")
        # A key replaced for its age still works: it stays valid through the grace period. One that no
        # longer works, or a lost Secret (how a key is revoked at once), leaves no old key behind; a key
        # still in an earlier grace period goes now (one replaced key at most).
        previous = None
        if stored and key_unusable(info, spec, now) is None and info and info.get("key_alias"):
            previous = (str(info["key_alias"]), now + dt.timedelta(hours=spec.key_grace_hours))
        alias, new_key = issue_key(router, spec, config)
        remember_secret(new_key)
        keep_hash = key_hash(new_key)
        annotations = {ALIAS_ANNOTATION: alias, **grace_annotations(previous)}
        write_secret(k8s, config, spec, secret, {**base_data, "api-key": encode(new_key)}, annotations)
        log(f"{spec.team_id}: wrote Secret {where} with key {alias}")
        if previous is not None:
            until = annotations[PREVIOUS_UNTIL_ANNOTATION]
            log(f"{spec.team_id}: replaced key {previous[0]} stays valid until {until}")
    # Only now that the Secret holds the surviving key (and records the replaced one) can the older ones go.
    for key in managed_keys(router, spec.team_id, config.managed_by):
        if not key.get("token") or key["token"] == keep_hash:
            continue
        if previous is not None and key.get("key_alias") == previous[0]:
            continue
        router.call("POST", "/key/delete", body={"keys": [key["token"]]})
        log(f"{spec.team_id}: deleted old key {key.get('key_alias') or '(no alias)'}")


def block_unconfigured(router: JsonClient, config: Config) -> None:
    _, teams = router.call("GET", "/team/list")
    for team in teams or []:
        metadata = team.get("metadata") or {}
        ours = all(metadata.get(k) == v for k, v in config.metadata.items())
        team_id = team.get("team_id")
        if ours and team_id not in config.teams and team_id not in config.invalid and not team.get("blocked"):
            router.call("POST", "/team/block", body={"team_id": team_id})
            log(f"{team_id}: blocked team (no longer configured)")


def reconcile(
    router: JsonClient, k8s: JsonClient, config: Config, base_data: dict[str, str], now: dt.datetime
) -> dict[str, str]:
    failures = dict(config.invalid)
    for team_id in sorted(config.teams):
        spec = config.teams[team_id]
        try:
            reconcile_team(router, spec, config)
            reconcile_key(router, k8s, spec, config, base_data, now)
        except Exception as err:
            failures[team_id] = redact(str(err)) or type(err).__name__
    try:
        block_unconfigured(router, config)
    except Exception as err:
        failures["(unconfigured teams)"] = redact(str(err)) or type(err).__name__
    return failures


def main() -> int:
    env = os.environ
    try:
        router_url = env["ROUTER_URL"]
        master_key = env["LITELLM_MASTER_KEY"]
        remember_secret(master_key)
        config = load_config(env["TEAMS_FILE"])
        ca_file = env.get("ROUTER_CA_FILE") or None
        base_data = {"base-url": encode(router_url)}
        if ca_file:
            with open(ca_file, encoding="utf-8") as handle:
                base_data["ca.crt"] = encode(handle.read())
        with open(env.get("K8S_TOKEN_FILE", f"{SA_DIR}/token"), encoding="utf-8") as handle:
            k8s_token = handle.read().strip()
        remember_secret(k8s_token)
        timeout = float(env.get("READY_TIMEOUT_SECONDS", "300"))
        router = JsonClient(router_url, master_key, ca_file)
        k8s_url = env.get("K8S_API_URL", "https://kubernetes.default.svc")
        k8s = JsonClient(k8s_url, k8s_token, env.get("K8S_CA_FILE", f"{SA_DIR}/ca.crt"))
    except (KeyError, ValueError, OSError) as err:
        print(f"router-teams: configuration error: {redact(repr(err))}", file=sys.stderr, flush=True)
        return 1
    if not wait_ready(router, timeout):
        print(
            f"router-teams: router not ready: GET {router.base_url}/health/readiness gave no 200 within {timeout:g}s",
            file=sys.stderr,
            flush=True,
        )
        return 1
    failures = reconcile(router, k8s, config, base_data, dt.datetime.now(dt.UTC))
    for name, reason in sorted(failures.items()):
        print(f"FAILED {name}: {reason}", file=sys.stderr, flush=True)
    log(f"router-teams: {len(config.teams) + len(config.invalid)} team(s) configured, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
