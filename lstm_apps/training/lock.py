"""The lock a run holds on its folder while it trains, and the state of a run folder.

A run writes ``run.lock`` (JSON: its process id, host, start time and a
token) when it opens its folder and removes it when it finishes or fails, so
that ``--resume`` never takes over the folder of a run that is still training.
A lock whose process is gone (killed, or the machine restarted) is *stale*:
the next run that needs the folder takes it over.

The state of a folder (:func:`run_state`):

* ``"finished"``: ``metrics.json`` written by ``Run.finish`` and no lock,
  no ``failed.json``;
* ``"running"``: locked by a live process (another one than the caller's);
* ``"failed"``: ``failed.json`` (the error) and no live lock;
* ``"interrupted"``: anything else (a stale lock: the process was killed).

Example:

>>> lock = RunLock.acquire(run_folder)
>>> ...  # train
>>> lock.release()
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lstm_apps import io as _io

__all__ = ["LOCK_FILE", "FAILED_FILE", "RunLock", "RunLockedError", "read_lock", "owner_alive", "run_state"]

LOCK_FILE = "run.lock"
FAILED_FILE = "failed.json"


class RunLockedError(ValueError):
    """The run folder is locked by a live process."""


def _host() -> str:
    return socket.gethostname()


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields and fields[0] in ("Z", "X"):  # a zombie: it has exited, only its exit status is left
        return "exited"
    return fields[19] if len(fields) > 19 else None


def read_lock(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The lock of a run folder as a dict (``pid``, ``host``, ``started``...), or ``None`` when unlocked."""
    path = Path(folder) / LOCK_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        info = json.loads(text)
    except json.JSONDecodeError:
        info = None
    if not isinstance(info, dict) or not isinstance(info.get("pid"), int):
        return {"pid": None, "host": None, "unreadable": True}  # a half-written lock: its writer died
    return info


def owner_alive(info: dict[str, Any] | None) -> bool:
    """Whether the process that wrote a lock (see :func:`read_lock`) is still running.

    A lock written on another host counts as alive (it cannot be checked from
    here); a lock of this process counts as alive too (see :func:`run_state`).
    """
    if not info or info.get("pid") is None:
        return False
    if info.get("host") != _host():
        return True
    pid = int(info["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by another user
    start = _process_start(pid)
    if start == "exited":
        return False
    recorded = info.get("process_start")
    return not (recorded and start and recorded != start)  # a reused pid is not the owner


def _held_by_this_process(info: dict[str, Any] | None) -> bool:
    return bool(info) and info.get("host") == _host() and info.get("pid") == os.getpid()


def run_state(folder: str | os.PathLike) -> str:
    """``"finished"``, ``"running"``, ``"failed"`` or ``"interrupted"`` (see the module docstring).

    A folder locked by the calling process itself is not ``"running"``: one
    process trains its runs one after the other, so a lock it still holds
    belongs to a run it abandoned (e.g. a ``main`` that raised in a test).
    """
    folder = Path(folder)
    info = read_lock(folder)
    if info is not None and owner_alive(info) and not _held_by_this_process(info):
        return "running"
    if (folder / FAILED_FILE).is_file():
        return "failed"
    if info is None and (folder / "metrics.json").is_file():
        return "finished"
    return "interrupted"


def describe_owner(info: dict[str, Any]) -> str:
    """``"process 1234 on host h (since 2025-01-01T12:00:00)"``."""
    since = f" (since {info['started']})" if info.get("started") else ""
    return f"process {info.get('pid')} on host {info.get('host')}{since}"


@dataclass
class RunLock:
    """The lock of one run folder, held by this process (create it with :meth:`acquire`)."""

    folder: Path
    token: str

    @property
    def path(self) -> Path:
        return self.folder / LOCK_FILE

    @classmethod
    def acquire(cls, folder: str | os.PathLike) -> RunLock:
        """Lock ``folder`` for this process; take a stale lock over.

        Raises:
            RunLockedError: another live process holds the lock (its pid and
                host are named).
        """
        folder = Path(folder)
        token = uuid.uuid4().hex
        pid = os.getpid()
        info = {
            "pid": pid,
            "host": _host(),
            "started": _dt.datetime.now().isoformat(timespec="seconds"),
            "process_start": _process_start(pid),
            "token": token,
        }
        data = (json.dumps(info, indent=2) + "\n").encode("utf-8")
        path = folder / LOCK_FILE
        for _ in range(3):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
            except FileExistsError:
                held = read_lock(folder)
                if held is None:
                    continue  # released meanwhile: try again
                if owner_alive(held) and not _held_by_this_process(held):
                    raise RunLockedError(
                        f"run folder {str(folder)!r} is locked by {describe_owner(held)}, which is still "
                        f"running; wait for it to end, or delete {str(path)!r} if that process is gone."
                    ) from None
                # stale (or abandoned by this process): move it aside atomically, so that of two
                # processes taking it over at once only one succeeds
                aside = folder / f".{LOCK_FILE}.stale-{token}"
                try:
                    os.rename(path, aside)
                except FileNotFoundError:
                    continue
                aside.unlink(missing_ok=True)
                continue
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
            return cls(folder, token)
        raise RunLockedError(f"could not lock run folder {str(folder)!r}: another process keeps taking it.")

    def held(self) -> bool:
        """Whether the lock file is still this lock (not taken over meanwhile)."""
        info = read_lock(self.folder)
        return bool(info) and info.get("token") == self.token

    def release(self) -> None:
        """Remove the lock file if it is still this lock."""
        if self.held():
            self.path.unlink(missing_ok=True)


def write_failure(folder: str | os.PathLike, exc: BaseException) -> Path:
    """Write ``failed.json``: the error's type and message, and the time."""
    return _io.write_json(
        Path(folder) / FAILED_FILE,
        {
            "error": type(exc).__name__,
            "message": str(exc),
            "time": _dt.datetime.now().isoformat(timespec="seconds"),
            "pid": os.getpid(),
        },
    )
