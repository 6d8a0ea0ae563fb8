"""API-key authentication that fails closed. The keys come from one place every replica reads:
a secret file (`api_key_file`, or the file named by RAYSYNTH_API_KEY_FILE; one key per line, so
a rotation can accept the old and the new key for a while) or the environment variable
`api_key_env`. The file is re-read when it changes, so a rotated key needs no restart. Without
a key the app refuses to start unless `auth: none` is set explicitly (logged as a warning on
every start); a key file that later becomes unreadable or empty denies every request."""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time

from serving.settings import ServeSettings
from synth.errors import ConfigError

log = logging.getLogger("raysynth.serving")
RECHECK_S = 1.0  # how often the key file's size and modification time are looked at


def keys_match(given: str | bytes | None, expected: str | bytes) -> bool:
    """Constant-time comparison on bytes: a header with non-ASCII characters (which
    compare_digest refuses as str) is a wrong key, not a 500."""
    if given is None:
        return False
    a = given if isinstance(given, bytes) else given.encode("utf-8", "surrogatepass")
    b = expected if isinstance(expected, bytes) else expected.encode("utf-8", "surrogatepass")
    return hmac.compare_digest(a, b)


class KeyRing:
    """The keys one app accepts (see the module doc). `open` is True only for `auth: none`."""

    def __init__(self, settings: ServeSettings) -> None:
        self.open = settings.auth == "none"
        path = settings.api_key_file or os.environ.get("RAYSYNTH_API_KEY_FILE") or ""
        self.path = os.path.expanduser(path) if path else ""
        self.env = settings.api_key_env
        self._lock = threading.Lock()
        self._keys: list[bytes] = []
        self._stamp: tuple[float, int] | None = None
        self._checked = 0.0
        if self.open:
            log.warning("raysynth: AUTHENTICATION IS OFF (auth: none): anyone who reaches this "
                        "endpoint can generate data. Set an API key for anything but a laptop.")
            return
        self._keys = self._read_now()
        if not self._keys:
            where = f"the file {self.path!r}" if self.path else f"${self.env}"
            raise ConfigError(
                f"no API key: {where} is empty or unset. Put the key in a secret file "
                "(api_key_file=PATH, or RAYSYNTH_API_KEY_FILE) or in $RAYSYNTH_API_KEY on every "
                "node, or set auth=none explicitly for an unauthenticated endpoint")

    def allows(self, given: bytes | str | None) -> bool:
        if self.open:
            return True
        keys = self._current()
        ok = False
        for key in keys:  # every key is compared: the time does not say which one matched
            ok |= keys_match(given, key)
        return ok

    def first(self) -> str | None:
        """The first key (what a local client of this app sends), None without one."""
        keys = self._current()
        return keys[0].decode("utf-8", "replace") if keys else None

    def _current(self) -> list[bytes]:
        if not self.path or time.monotonic() - self._checked < RECHECK_S:
            return self._keys
        with self._lock:
            self._checked = time.monotonic()
            stamp = self._file_stamp()
            if stamp != self._stamp:
                self._keys = self._read_now()
                if not self._keys:
                    log.error("raysynth: the API key file %r is unreadable or empty: every "
                              "request is denied until it holds a key", self.path)
        return self._keys

    def _file_stamp(self) -> tuple[float, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime, st.st_size

    def _read_now(self) -> list[bytes]:
        if not self.path:
            value = os.environ.get(self.env, "").strip()
            return [value.encode()] if value else []
        self._stamp = self._file_stamp()
        try:
            with open(self.path, "rb") as f:
                lines = f.read().splitlines()
        except OSError as exc:
            log.error("raysynth: cannot read the API key file %r: %s", self.path, exc.strerror)
            return []
        return [line.strip() for line in lines if line.strip()]
