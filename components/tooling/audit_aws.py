"""AWS access for `factory audit`: clients with bounded retries, paginated reads, and the
translation of "AWS could not be reached" into one line (exit 3).

boto3 picks up the caller's credentials and honours AWS_ENDPOINT_URL (moto_server in tests).
Nothing read here is printed as is: callers report names, ARNs and flags only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)

MAX_ATTEMPTS_ENV = "FACTORY_AWS_MAX_ATTEMPTS"
"""botocore's `retries.max_attempts`: retries after the first try (botocore's meaning of the key)."""
DEFAULT_MAX_ATTEMPTS = 5
BUDGETS_REGION = "us-east-1"
"""The Budgets API has a single endpoint for the `aws` partition."""

THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown"}
)


class AwsFailure(Exception):
    """AWS could not be reached or refused the audit: one line, exit 3."""


def max_attempts() -> int:
    raw = os.environ.get(MAX_ATTEMPTS_ENV, "")
    return int(raw) if raw.isdigit() and int(raw) >= 1 else DEFAULT_MAX_ATTEMPTS


@dataclass
class Aws:
    """Clients per (service, region), built lazily with one retry/timeout policy."""

    home_region: str
    attempts: int = field(default_factory=max_attempts)
    _session: Any = None
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    def client(self, service: str, region: str | None = None) -> Any:
        region = region or self.home_region
        key = (service, region)
        if key not in self._clients:
            if self._session is None:
                self._session = boto3.session.Session()
            # Standard mode backs off on throttling and transient errors; at most `attempts` retries.
            cfg = Config(
                retries={"max_attempts": self.attempts, "mode": "standard"},
                connect_timeout=5,
                read_timeout=20,
            )
            self._clients[key] = self._session.client(service, region_name=region, config=cfg)
        return self._clients[key]

    def pages(self, service: str, operation: str, region: str | None = None, **kwargs: Any) -> Iterator[Any]:
        """Every page of a paginated operation (boto3 paginator)."""
        yield from self.client(service, region).get_paginator(operation).paginate(**kwargs)


def error_code(exc: BaseException) -> str:
    return str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) else ""


def as_failure(exc: BaseException, what: str) -> AwsFailure:
    """One line for exit 3; never includes credentials or response bodies."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    where = f" at {endpoint}" if endpoint else ""
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return AwsFailure(f"AWS unreachable: no usable AWS credentials ({what})")
    if isinstance(exc, NoRegionError):
        return AwsFailure(f"AWS unreachable: no region ({what})")
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)):
        return AwsFailure(f"AWS unreachable{where}: {type(exc).__name__} during {what}")
    code = error_code(exc)
    if code in THROTTLING_CODES and isinstance(exc, ClientError):
        tries = 1 + int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0))
        return AwsFailure(f"AWS throttled {what} after {tries} attempts ({code})")
    if code:
        return AwsFailure(f"AWS refused {what}: {code}")
    if isinstance(exc, BotoCoreError):
        return AwsFailure(f"AWS unreachable{where}: {type(exc).__name__} during {what}")
    return AwsFailure(f"AWS call failed during {what}: {type(exc).__name__}")


AWS_ERRORS = (BotoCoreError, ClientError)


@contextmanager
def translating(what: str) -> Iterator[None]:
    """Any AWS error inside becomes AwsFailure naming `what` (the API call and its target)."""
    try:
        yield
    except AWS_ERRORS as exc:
        raise as_failure(exc, what) from None
