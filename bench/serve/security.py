"""The API key and where it may go.

The key is read from one named environment variable only (never a flag, a file or a default
variable), held in a `Secret` whose str/repr never show it, sent only in the Authorization header
of requests to the `--endpoint` URL (no proxies from the environment, no redirects followed), and
scrubbed from every error text before it can reach a results row, a JSON, a log or the terminal.
Plain http is allowed to loopback only, unless the user says `--allow-insecure-http`.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from bench.core.errors import BenchError

REDACTED = "***"
# A key is scrubbed from everything written by replacing each occurrence; a shorter one would match ordinary
# text (a one-character key rewrote every run id, timestamp and URL holding that character), so it is refused.
MIN_KEY_CHARS = 8


class Secret:
    """A value that prints as *** everywhere; `reveal()` is called in exactly one place (client.headers)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def scrub(self, text: str) -> str:
        return text.replace(self._value, REDACTED) if self._value and text else text

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    __str__ = __repr__

    def __reduce__(self):  # never pickled into another process or file
        raise TypeError("a Secret cannot be pickled")


def read_api_key(env_var: str | None) -> Secret | None:
    """The key from the named environment variable; BenchError (naming the variable only) when unset."""
    if not env_var:
        return None
    value = os.environ.get(env_var, "")
    if not value.strip():
        raise BenchError(f"--api-key-env {env_var}: that environment variable is not set or empty; "
                         f"export {env_var}=<your key> first (the key is never taken from the command line)")
    if len(value.strip()) < MIN_KEY_CHARS:
        raise BenchError(f"--api-key-env {env_var}: the key is {len(value.strip())} character(s); bench scrubs the "
                         f"key from everything it writes, and one under {MIN_KEY_CHARS} would match ordinary text: "
                         "give the server a longer key, or leave out --api-key-env if it checks none")
    return Secret(value.strip())


def scrub(text: str, secret: Secret | None) -> str:
    return secret.scrub(text) if secret is not None else text


def scrub_obj(obj, secret: Secret | None):
    """Every string value inside dicts/lists/tuples with the key replaced by ***. Dict keys are bench's own
    names (columns, fields) and stay as they are."""
    if secret is None:
        return obj
    if isinstance(obj, str):
        return secret.scrub(obj)
    if isinstance(obj, dict):
        return {k: scrub_obj(v, secret) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(scrub_obj(v, secret) for v in obj)
    return obj


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost: not trusted to be local, whatever it resolves to


API_PATHS = {"completions": "/completions", "chat": "/chat/completions"}


@dataclass(frozen=True)
class Endpoint:
    url: str  # where the requests (and the key) go
    origin: str  # scheme://host:port, for /metrics and /version (never sent the key)
    api: str  # completions | chat
    loopback: bool


def parse_endpoint(url: str, api: str, allow_insecure_http: bool = False) -> Endpoint:
    """`--endpoint` as given: a full .../completions or .../chat/completions URL, or a base
    (http://host:port -> /v1/<api>; a base ending in a path such as /v1 or /api/v3 -> that + /<api>)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError as e:  # an unclosed [IPv6 bracket
        raise BenchError(f"--endpoint {url}: not a URL ({e}); expected e.g. http://127.0.0.1:8000") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BenchError(f"--endpoint {url}: expected an http(s) URL such as http://127.0.0.1:8000 "
                         "or https://api.example.com/v1")
    try:
        port = parts.port  # urllib checks it only when asked: :abc or :99999 failed deep in the client
    except ValueError:
        port = -1
    if port == -1 or port == 0:
        raise BenchError(f"--endpoint {url}: the port must be a number from 1 to 65535, e.g. "
                         f"{parts.scheme}://{parts.hostname}:8000")
    if parts.username or parts.password:
        raise BenchError("--endpoint: credentials in the URL are refused; put the key in an environment "
                         "variable and name it with --api-key-env")
    if parts.query or parts.fragment:
        raise BenchError("--endpoint: give the URL without a query string or fragment")
    loopback = is_loopback_host(parts.hostname)
    if parts.scheme == "http" and not loopback and not allow_insecure_http:
        raise BenchError(f"--endpoint {parts.scheme}://{parts.netloc}: plain http to a host that is not loopback "
                         "would send prompts (and any API key) unencrypted; use https, or pass "
                         "--allow-insecure-http if this network is yours")
    path = parts.path.rstrip("/")
    if path.endswith("/chat/completions"):
        api = "chat"
    elif path.endswith("/completions"):
        api = "completions"
    else:
        path = (path or "/v1") + API_PATHS[api]
    origin = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    return Endpoint(url=origin + path, origin=origin, api=api, loopback=loopback)
