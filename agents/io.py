"""Result files written atomically (temp file + rename), so an interrupted run never leaves a torn file; and checksums
that detect a file damaged afterwards (a truncated copy, a full disk, a stray edit), so it is recomputed, never used.

- `atomic_write_json_checked` / `read_json_checked`: a JSON file with a `<name>.sha256` sidecar (written first, so a
  file is never newer than its checksum); a file that does not match its sidecar, or does not parse, is a
  `CorruptFileError`.
- `write_manifest` / `verify_manifest`: a folder's `manifest.json` of every file's size and SHA-256 (checkpoints, and a
  finished run's folder); `file_prefixes` / `verify_prefixes`: the size and SHA-256 of files that are still being
  appended to (a run's monitor and progress CSVs at a checkpoint), checked as prefixes.
- `FolderLock`: an OS file lock (`fcntl.flock`) on a folder, released by the OS when its process dies.

Atomically written files get the permissions of an ordinary `open()`: 0666 minus the process's umask (0644 by
default), so a run folder on shared storage is readable by every node.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def process_umask() -> int:
    """The process's umask (read from /proc on Linux; elsewhere by setting and restoring it)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` (UTF-8) to `path` via a temp file in the same folder and an atomic rename; returns the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write `data` as indented JSON, atomically."""
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `path` via a temp file in the same folder and an atomic rename; returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~process_umask())  # mkstemp's 0600 would hide results from other users and nodes
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def atomic_save_figure(fig: Any, path: str | os.PathLike[str], dpi: int = 110) -> Path:
    """Save a matplotlib figure as PNG atomically (temp file + rename), then close it; returns the path."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def csv_text(rows: list[dict[str, Any]]) -> str:
    """Rows of dicts as CSV text; the header is every key in order of first appearance (missing cells empty)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(dict.fromkeys(k for row in rows for k in row)), restval="")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class CorruptFileError(ValueError):
    """A result, cache or checkpoint file that is truncated or damaged (its message names the file and the fault)."""


#: Name of the manifest `write_manifest` writes into a folder.
MANIFEST = "manifest.json"


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | os.PathLike[str], size: int | None = None) -> str:
    """Hex SHA-256 of a file's bytes (only its first `size` bytes when given), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    remaining = float("inf") if size is None else size
    with open(path, "rb") as handle:
        while remaining > 0:
            block = handle.read(int(min(remaining, 1 << 20)))
            if not block:
                break
            digest.update(block)
            remaining -= len(block)
    return digest.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def atomic_write_json_checked(path: str | os.PathLike[str], data: Any) -> Path:
    """Write `data` as JSON atomically, with its SHA-256 in a `<name>.sha256` sidecar written first."""
    text = (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")
    atomic_write_text(_sidecar(Path(path)), sha256_bytes(text) + "\n")
    return atomic_write_bytes(path, text)


def read_json_checked(path: str | os.PathLike[str], require_checksum: bool = False) -> Any:
    """A JSON file, checked against its `.sha256` sidecar when it has one (files written before checksums have
    none; with `require_checksum` a missing sidecar is an error too); a `CorruptFileError` naming the file when it
    does not match or is not valid JSON."""
    path = Path(path)
    data = path.read_bytes()
    sidecar = _sidecar(path)
    if require_checksum and not sidecar.exists():
        raise CorruptFileError(f"{path} has lost its checksum ({sidecar.name}): it cannot be trusted")
    if sidecar.exists():
        expected = sidecar.read_text(encoding="utf-8").strip()
        if sha256_bytes(data) != expected:
            raise CorruptFileError(f"{path} does not match its checksum ({len(data)} bytes): truncated or damaged")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptFileError(f"{path} is not valid JSON ({err.__class__.__name__}: {err})") from None


def _listed_files(folder: Path, exclude: tuple[str, ...]) -> list[Path]:
    """Every file under `folder` but the manifest, the top-level names in `exclude` and hidden temporary files."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.name != MANIFEST
        and p.relative_to(folder).parts[0] not in exclude
        and not p.name.endswith(".tmp")
    )


def write_manifest(folder: str | os.PathLike[str], exclude: tuple[str, ...] = ()) -> Path:
    """Write `folder/manifest.json`: the size and SHA-256 of every other file under `folder` but the top-level names
    in `exclude` (atomically)."""
    folder = Path(folder)
    entries = {
        p.relative_to(folder).as_posix(): [p.stat().st_size, file_sha256(p)] for p in _listed_files(folder, exclude)
    }
    return atomic_write_json(folder / MANIFEST, entries)


def _checked_entries(entries: Any, path: Path | str) -> dict[str, tuple[int, str]]:
    """`entries` as {relative path: (size, sha256)}; a `CorruptFileError` naming `path` when it has another shape."""
    ok = isinstance(entries, dict) and all(
        isinstance(e, list) and len(e) == 2 and type(e[0]) is int and e[0] >= 0 and isinstance(e[1], str)
        for e in entries.values()
    )
    if not ok or any(Path(name).is_absolute() or ".." in Path(name).parts for name in entries):
        raise CorruptFileError(f"{path} is not a mapping of relative file -> [size, sha256]: damaged")
    return {name: (entry[0], entry[1]) for name, entry in entries.items()}


def _entries(path: Path, what: str) -> dict[str, tuple[int, str]]:
    """A manifest-style JSON file {relative path: [size, sha256]}, checked for its shape (`CorruptFileError`)."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorruptFileError(f"{path.parent} has no {path.name}: an incomplete or damaged {what}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptFileError(f"{path} is not valid JSON ({err})") from None
    return _checked_entries(entries, path)


def verify_manifest(folder: str | os.PathLike[str], what: str = "checkpoint") -> None:
    """Check every file of `folder` against its manifest; a `CorruptFileError` naming the first file that is missing,
    has another size or another checksum (or when the manifest itself is missing, damaged or of the wrong shape).
    `what` names the folder's kind in the message."""
    folder = Path(folder)
    for name, (size, digest) in _entries(folder / MANIFEST, what).items():
        path = folder / name
        if not path.is_file():
            raise CorruptFileError(f"{path} is missing (listed in {folder / MANIFEST})")
        if path.stat().st_size != size:
            raise CorruptFileError(f"{path} has {path.stat().st_size} bytes, the manifest says {size}: truncated")
        if file_sha256(path) != digest:
            raise CorruptFileError(f"{path} does not match its checksum: damaged")


def file_prefixes(folder: str | os.PathLike[str], pattern: str) -> dict[str, list[Any]]:
    """{relative path: [size, sha256]} of the files of `folder` matching the glob `pattern`: what a checkpoint relies
    on in files that are still appended to (checked by `verify_prefixes`)."""
    folder = Path(folder)
    files = sorted(p for p in folder.glob(pattern) if p.is_file())
    return {p.relative_to(folder).as_posix(): [p.stat().st_size, file_sha256(p)] for p in files}


def verify_prefixes(folder: str | os.PathLike[str], entries: dict[str, Any], source: str) -> None:
    """Check that each file of `entries` (from `file_prefixes`) still starts with the bytes it had then (it may have
    grown since); a `CorruptFileError` naming the first file that is missing, shorter or changed. `source` names
    where the entries were recorded, for the message."""
    folder = Path(folder)
    for name, (size, digest) in _checked_entries(entries, source).items():
        path = folder / name
        if not path.is_file():
            raise CorruptFileError(f"{path} is missing (its first {size} bytes are recorded in {source})")
        if path.stat().st_size < size:
            raise CorruptFileError(f"{path} has {path.stat().st_size} bytes, {source} recorded {size}: torn")
        if file_sha256(path, size) != digest:
            raise CorruptFileError(f"{path} does not match its first {size} bytes recorded in {source}: damaged")


class FolderLock:
    """An exclusive OS lock (`fcntl.flock`) on `path` (a lock file beside the folder it guards), held from `acquire`
    to `release` (or the end of a `with` block) and released by the OS when the process dies, even by SIGKILL.

    The holder writes "pid PID on HOST" into the lock file, so a process that finds it taken can say who holds it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self, wait: bool = True, on_wait: Any = None) -> bool:
        """Take the lock: with `wait`, block until it is free (calling `on_wait(holder)` once first if it is taken);
        without, return False at once when another process holds it."""
        import fcntl
        import socket

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait:
                    os.close(fd)
                    return False
                if on_wait is not None:
                    on_wait(self.holder())
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def holder(self) -> str:
        """Who holds (or last held) the lock, as its holder wrote it."""
        try:
            return self.path.read_text(encoding="utf-8").strip() or "another process"
        except OSError:
            return "another process"

    def release(self) -> None:
        """Give the lock up (closing the descriptor releases it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
