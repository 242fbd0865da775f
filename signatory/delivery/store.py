"""Where the delivery package is kept once built: files in the instance folder.

The PDF of a long list takes minutes to lay out (about 5 ms a name here), so a package
is built once per delivery and its bytes kept, never built per request. The files are
named by the fingerprint of everything they are made of (``PackageInputs.digest``), and
building again gives the same bytes: a copy is never stale, a lost one is simply built
again, and two servers each keeping their own serve identical files. No table is
needed for that.

A file lock per package lets one process build it while the others wait or answer
"being prepared"; files are written to a temporary name and renamed, so a reader never
sees half a file.
"""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from signatory.delivery.package import PackageInputs, build_pdf, build_zip

log = logging.getLogger("signatory.delivery")

PDF = "pdf"
ZIP = "zip"
KINDS = (PDF, ZIP)


@dataclass(frozen=True)
class Stored:
    """A package file kept in the store."""

    kind: str
    path: Path
    size: int

    @property
    def size_text(self) -> str:
        return size_text(self.size)


class PackageStore:
    """The packages kept under ``folder`` (the instance folder's ``deliveries/``)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def path(self, inputs: PackageInputs, kind: str) -> Path:
        """Where the ``kind`` file of the package made of ``inputs`` is kept."""
        return self.folder / f"{inputs.digest}.{kind}"

    def find(self, inputs: PackageInputs, kind: str) -> Stored | None:
        """The kept ``kind`` file of this package, or None if it is not built (yet)."""
        path = self.path(inputs, kind)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        return Stored(kind, path, size)

    def complete(self, inputs: PackageInputs) -> bool:
        """Whether both files of this package are kept."""
        return all(self.find(inputs, kind) is not None for kind in KINDS)

    def building(self, inputs: PackageInputs) -> bool:
        """Whether another process holds the package's lock (is building it) right now."""
        with self._locked(inputs, wait=False) as locked:
            return not locked

    @contextmanager
    def _locked(self, inputs: PackageInputs, *, wait: bool) -> Iterator[bool]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / f"{inputs.digest}.lock", "a+b") as lock:
            flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
            try:
                fcntl.flock(lock, flags)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, inputs: PackageInputs, kind: str, data: bytes) -> None:
        target = self.path(inputs, kind)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{target.name}.")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def build(self, inputs: PackageInputs, *, wait: bool = True) -> bool:
        """Build and keep the package's PDF and ZIP unless they are kept already.

        With ``wait``, waits for another process building the same package; without it,
        returns False at once if one is. Needs an app context (the PDF's template).
        """
        with self._locked(inputs, wait=wait) as locked:
            if not locked:
                return False
            if self.complete(inputs):
                return True
            pdf = build_pdf(inputs)
            package = build_zip(inputs, pdf)
            # The ZIP last: a kept ZIP means the PDF is kept too.
            self._write(inputs, PDF, pdf)
            self._write(inputs, ZIP, package)
            return True


# Up to this many signatories the package is built within the request that first needs
# it (a few seconds); a longer list is built in the background.
SYNC_ROWS = 1000


def store_of(app: Flask) -> PackageStore:
    """The packages kept in ``app``'s instance folder."""
    return PackageStore(Path(app.instance_path) / "deliveries")


def files_of(app: Flask, inputs: PackageInputs) -> dict[str, Stored | None]:
    """The package's files as kept now (None for one not built yet), for the pages' links."""
    kept = store_of(app)
    return {kind: kept.find(inputs, kind) for kind in KINDS}


def prepare(app: Flask, inputs: PackageInputs) -> bool:
    """Build the package now if the list is short, else start building it in the background.

    True when it is ready. Up to ``DELIVERY_PACKAGE_SYNC_ROWS`` signatories (default
    ``SYNC_ROWS``) it is built here and now; a longer list in a thread, so no request
    waits minutes for it (nor is its worker killed by gunicorn's timeout).
    """
    kept = store_of(app)
    if kept.complete(inputs):
        return True
    limit = app.config.get("DELIVERY_PACKAGE_SYNC_ROWS", SYNC_ROWS)
    if inputs.organizations + inputs.individuals <= limit:
        return kept.build(inputs)
    if kept.building(inputs):
        return False
    build_elsewhere(app, inputs.slug)
    return False


def build_elsewhere(app: Flask, slug: str) -> subprocess.Popen[bytes]:
    """Start ``flask delivery package SLUG`` in a process of its own; return it.

    A long list's PDF takes minutes and gigabytes (about 5 ms and 60 KB a name): in a web
    worker it would hold the memory after and meet gunicorn's timeout. A process of its
    own gives all of it back when it ends, and takes the package's lock, so a second
    start waits its turn and finds the package built. If it dies, nothing is lost: the
    next request for the package starts another, with the same result. It reads the
    database and keeps the files where this app does, whatever its environment says.
    """
    environment = {
        **os.environ,
        "SIGNATORY_DATABASE_URL": str(app.config["DATABASE_URL"]),
        "SIGNATORY_INSTANCE_PATH": app.instance_path,
    }
    process = subprocess.Popen(  # noqa: S603 - our own command; a slug is [a-z0-9-]
        [sys.executable, "-m", "flask", "--app", "signatory", "delivery", "package", slug],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=None,
        env=environment,
        start_new_session=True,
    )
    # Waited for by a thread of its own, so the ended process is reaped (no zombie).
    threading.Thread(target=process.wait, name=f"package-{slug}", daemon=True).start()
    return process


def size_text(size: int) -> str:
    """A file size as people say it: "2.4 MB", "85 KB"."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"
