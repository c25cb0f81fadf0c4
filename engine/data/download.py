"""Find dataset files in the data directories, or download them with checksum verification."""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from engine.data.sources import DatasetSource, SourceFile
from engine.errors import DataError
from engine.paths import data_dirs


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def find_file(relpath: str) -> Path | None:
    for d in data_dirs():
        p = d / relpath
        if p.is_file():
            return p
    return None


def missing_files(source: DatasetSource) -> list[SourceFile]:
    return [f for f in source.files if find_file(f.relpath) is None]


def download_file(f: SourceFile, dest_root: Path, progress=None, timeout: float = 20.0) -> Path:
    """Download one file into dest_root/relpath atomically; verify its sha256 when known."""
    from tqdm import tqdm

    dest = dest_root / f.relpath
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(f.url, timeout=timeout) as resp, os.fdopen(fd, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or f.size
            with tqdm(total=total, unit="B", unit_scale=True, desc=f.relpath, disable=progress is not None) as bar:
                done = 0
                for chunk in iter(lambda: resp.read(1 << 16), b""):
                    out.write(chunk)
                    h.update(chunk)
                    done += len(chunk)
                    bar.update(len(chunk))
                    if progress is not None and total:
                        progress(done / total, f"downloading {f.relpath}")
        if f.sha256 and h.hexdigest() != f.sha256:
            raise DataError(f"{f.relpath}: checksum mismatch after download (got {h.hexdigest()[:12]}…, "
                            f"expected {f.sha256[:12]}…); the file was not kept.")
        os.replace(tmp, dest)
        return dest
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise DataError(f"could not download {f.url} ({exc}).") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def ensure_files(source: DatasetSource, download: bool = True, progress=None) -> dict[str, Path]:
    """Return relpath -> local path for every file of ``source``, downloading missing ones.

    With no internet, raises DataError naming every missing file and where to put it.
    """
    missing = missing_files(source)
    if missing and download:
        failures = []
        for f in missing:
            try:
                download_file(f, data_dirs()[0], progress=progress)
            except DataError as exc:
                failures.append(str(exc))
        missing = missing_files(source)
        if missing:
            raise DataError(_missing_message(source, missing, failures))
    elif missing:
        raise DataError(_missing_message(source, missing, []))
    paths = {f.relpath: find_file(f.relpath) for f in source.files}
    for f in source.files:
        if f.sha256 and sha256_of(paths[f.relpath]) != f.sha256:
            raise DataError(f"{paths[f.relpath]}: checksum does not match the published file "
                            f"({f.relpath}); delete it and let XTrust download it again.")
    return paths  # type: ignore[return-value]


def _missing_message(source: DatasetSource, missing: list[SourceFile], failures: list[str]) -> str:
    where = data_dirs()[0]
    lines = [f"The {source.name} dataset is missing {len(missing)} file(s). Put them under {where} "
             "(or set XTRUST_DATA_DIR to a folder that has them):"]
    lines += [f"  - {where / f.relpath}   (from {f.url})" for f in missing]
    if source.note:
        lines.append(source.note)
    if failures:
        lines.append("Download failed (no internet?): " + failures[0])
    return "\n".join(lines)
