"""Result files written atomically (temp file + rename), so an interrupted run never leaves a torn file; and checksums
that detect a file damaged afterwards (a truncated copy, a full disk, a stray edit), so it is recomputed, never used.

- `atomic_write_json_checked` / `read_json_checked`: a JSON file with a `<name>.sha256` sidecar (written first, so a
  file is never newer than its checksum); a file that does not match its sidecar, or does not parse, is a
  `CorruptFileError`.
- `write_manifest` / `verify_manifest`: a folder's `manifest.json` of every file's size and SHA-256 (checkpoints).
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


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def atomic_write_json_checked(path: str | os.PathLike[str], data: Any) -> Path:
    """Write `data` as JSON atomically, with its SHA-256 in a `<name>.sha256` sidecar written first."""
    text = (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")
    atomic_write_text(_sidecar(Path(path)), sha256_bytes(text) + "\n")
    return atomic_write_bytes(path, text)


def read_json_checked(path: str | os.PathLike[str]) -> Any:
    """A JSON file, checked against its `.sha256` sidecar when it has one (files written before checksums have
    none); a `CorruptFileError` naming the file when it does not match or is not valid JSON."""
    path = Path(path)
    data = path.read_bytes()
    sidecar = _sidecar(path)
    if sidecar.exists():
        expected = sidecar.read_text(encoding="utf-8").strip()
        if sha256_bytes(data) != expected:
            raise CorruptFileError(f"{path} does not match its checksum ({len(data)} bytes): truncated or damaged")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptFileError(f"{path} is not valid JSON ({err.__class__.__name__}: {err})") from None


def write_manifest(folder: str | os.PathLike[str]) -> Path:
    """Write `folder/manifest.json`: the size and SHA-256 of every other file under `folder` (atomically)."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    entries = {p.relative_to(folder).as_posix(): [p.stat().st_size, file_sha256(p)] for p in files}
    return atomic_write_json(folder / MANIFEST, entries)


def verify_manifest(folder: str | os.PathLike[str]) -> None:
    """Check every file of `folder` against its manifest; a `CorruptFileError` naming the first file that is missing,
    has another size or another checksum (or when the manifest itself is missing or damaged)."""
    folder = Path(folder)
    try:
        entries = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorruptFileError(f"{folder} has no {MANIFEST}: an incomplete or damaged checkpoint") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptFileError(f"{folder / MANIFEST} is not valid JSON ({err})") from None
    if not isinstance(entries, dict):
        raise CorruptFileError(f"{folder / MANIFEST} is not a mapping of file -> [size, sha256]")
    for name, entry in entries.items():
        path = folder / name
        if not path.is_file():
            raise CorruptFileError(f"{path} is missing from the checkpoint")
        size, digest = entry
        if path.stat().st_size != size:
            raise CorruptFileError(f"{path} has {path.stat().st_size} bytes, the manifest says {size}: truncated")
        if file_sha256(path) != digest:
            raise CorruptFileError(f"{path} does not match its checksum: damaged")
