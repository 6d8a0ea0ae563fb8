"""The ASGI middleware in front of every route: it checks the API key before a byte of the body
is read, refuses bodies over `max_body_bytes` (413) or slower than `body_timeout_s` (408), and
only then hands the (buffered, bounded) body to FastAPI. Health and the API docs stay open."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from serving.auth import KeyRing

OPEN_PATHS = ("/healthz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
BODY_METHODS = (b"POST", b"PUT", b"PATCH", "POST", "PUT", "PATCH")
# a body refused while it streams in (chunked past the limit, or too slow) is not read to its
# end: the connection is closed (a declared Content-Length over the limit is answered cleanly)
CLOSE = {"connection": "close"}


@dataclass
class GuardState:
    """What the middleware enforces; the Api deployment fills it in (one per replica)."""

    keys: KeyRing | None = None  # None: not configured yet, every request is refused
    max_body_bytes: int = 1_000_000
    body_timeout_s: float = 10.0


STATE = GuardState()


def configure(keys: KeyRing, max_body_bytes: int, body_timeout_s: float) -> None:
    """Set what this process's Guard enforces (called by the Api deployment)."""
    STATE.keys, STATE.max_body_bytes, STATE.body_timeout_s = keys, max_body_bytes, body_timeout_s


class Guard:
    def __init__(self, app: Any, state: GuardState | None = None) -> None:
        self.app, self.state = app, state if state is not None else STATE

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        st = self.state
        if not _is_open(scope):
            if st.keys is None:
                await _answer(send, 503, "the server is starting", {"retry-after": "1"})
                return
            if not st.keys.allows(_header(scope, b"x-api-key")):
                await _answer(send, 401, "missing or wrong API key (header X-API-Key)")
                return
        if scope.get("method") not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > st.max_body_bytes):
            await _answer(send, 413, f"request body over {st.max_body_bytes} bytes")
            return
        try:
            body = await asyncio.wait_for(_read_body(receive, st.max_body_bytes),
                                          st.body_timeout_s)
        except TooLarge:
            await _answer(send, 413, f"request body over {st.max_body_bytes} bytes", CLOSE)
            return
        except TimeoutError:
            await _answer(send, 408, f"request body not received within {st.body_timeout_s:g} s",
                          CLOSE)
            return
        except Disconnected:
            return
        await self.app(scope, _replay(body, receive), send)


class TooLarge(Exception):
    pass


class Disconnected(Exception):
    pass


async def _read_body(receive: Any, limit: int) -> bytes:
    parts, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: the disconnect, for streaming responses

    return replay


def _is_open(scope: dict) -> bool:
    path, root = scope.get("path", ""), scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    return path in OPEN_PATHS


def _header(scope: dict, name: bytes) -> Any:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value if name == b"x-api-key" else value.decode("latin-1").strip()
    return None


async def _answer(send: Any, status: int, detail: str, extra: dict[str, str] | None = None
                  ) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
