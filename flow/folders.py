"""Folders that runs share: advisory locks, and a report folder replaced without losing data.

Locks are ``flock``s, so they vanish with the process that held them (a killed run never leaves a
stale lock), and they only order qmac runs among themselves.

A report folder carries a marker file (``MARKER``). ``write_folder`` only ever replaces a folder
that holds it, or an empty one: any other existing target, a file or a folder of the user's, is a
ValueError naming it, since replacing it would delete what qmac did not write.

The replacement is a swap of two renames (the old folder goes aside into a hidden
``.<name>.old-*`` sibling, the new one takes its place) rather than one atomic rename: Linux can
exchange two folders atomically only through ``renameat2(RENAME_EXCHANGE)``, which Python does
not expose and not every filesystem supports. The gap between the renames is closed twice: any
exception in it (a failure, Ctrl-C) renames the old folder back before propagating, and a run
killed outright there (SIGKILL, power loss) is repaired by the next run, which finds the folder
set aside and restores it before doing anything else. Writers hold a lock on the parent folder
while they write and swap, so two runs sharing ``-o`` take turns and the repair never touches a
folder another run is still writing.

``in_private_job`` applies the same swap to one design's job folder (``qmac synth``): each run
works in a private hidden folder, in parallel with any other, and only publishes the finished
folder, so two runs sharing ``-o`` never write into one folder and the last to finish wins whole.
"""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

__all__ = ["MARKER", "locked", "check_folder", "write_folder", "in_private_job"]

T = TypeVar("T")

MARKER = ".qmac-report"
_MARKER_TEXT = ("Written by qmac (`qmac report`, or `qmac synth` for one design), which replaces "
                "this folder on its next run with the same -o.\nIt refuses to replace a folder "
                "without this file.\n")


@contextmanager
def locked(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (a folder, or a lock file created when missing).

    ``on_wait`` is called once if another process holds the lock, before waiting for it.
    """
    fd = os.open(path, os.O_RDONLY if Path(path).is_dir() else os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def check_folder(out_dir: Path | str) -> Path:
    """The absolute ``out_dir`` if a report may be written there, after repairing an interrupted
    swap; ValueError naming it if it is a file or a non-empty folder without ``MARKER``."""
    out = Path(os.path.abspath(out_dir))
    if not out.name:
        raise ValueError(f"out_dir must name a folder below {out}, not {str(out_dir)!r}")
    if out.parent.is_dir():
        with locked(out.parent):
            _repair(out)
        _check(out, out_dir)
        # An unwritable place fails now (OSError naming it), not after a long study.
        os.rmdir(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    return out


def write_folder(out_dir: Path | str, write: Callable[[Path], object]) -> Path:
    """Fill a new folder with ``write(folder)`` and swap it in place of ``out_dir``.

    ``write`` works in a hidden sibling that already holds ``MARKER``; if it fails, or anything
    fails before the swap completes, ``out_dir`` keeps its previous content.
    """
    out = check_folder(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    with locked(out.parent):
        _repair(out)
        _check(out, out_dir)
        new = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
        try:
            new.chmod(0o755)  # mkdtemp's private 0700 would otherwise become the folder's mode
            (new / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
            write(new)
            _swap(new, out)
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            raise
    return out


def in_private_job(out_dir: Path | str, name: str, work: Callable[[Path], T]) -> T:
    """``work(private)``, whose output folder is ``private/name``, then that folder swapped in as
    ``out_dir/name``; returns what ``work`` returned.

    ``private`` is a fresh hidden ``.<name>.job-*`` folder in ``out_dir``. If ``work`` fails it
    stays, with the logs its error names; an existing ``out_dir/name`` is replaced only if qmac
    published it (``MARKER``) or it is empty, else a ValueError names it.
    """
    out = Path(os.path.abspath(out_dir))
    out.mkdir(parents=True, exist_ok=True)
    final = out / name
    _check_replaceable(final)
    private = Path(tempfile.mkdtemp(dir=out, prefix=f".{name}.job-"))
    result = work(private)
    (private / name / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
    with locked(out):
        _repair(final)
        _check_replaceable(final)
        _swap(private / name, final)
    shutil.rmtree(private, ignore_errors=True)
    return result


def _check_replaceable(final: Path) -> None:
    if os.path.lexists(final) and not _ours(final):
        raise ValueError(f"out_dir {str(final.parent)!r} holds {final.name!r}, which qmac did not "
                         f"write (it is not empty and has no {MARKER} file): remove it or name "
                         f"another folder")


def _check(out: Path, given: Path | str) -> None:
    if out.is_dir():
        if (out / MARKER).is_file() or not any(out.iterdir()):
            return
        raise ValueError(f"out_dir {str(given)!r} is a folder that qmac report did not write (it "
                         f"is not empty and has no {MARKER} file): name a new or empty folder")
    if os.path.lexists(out):
        raise ValueError(f"out_dir {str(given)!r} is a file, not a folder: name a new or empty "
                         f"folder")


def _swap(new: Path, out: Path) -> None:
    """Rename ``new`` to ``out``; a previous ``out`` goes aside first and comes back if the
    second rename does not happen, whatever the exception."""
    aside = None
    try:
        if os.path.lexists(out):
            aside = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-")) / out.name
            os.replace(out, aside)
        os.replace(new, out)
    except BaseException:
        if aside is not None:
            if os.path.lexists(aside) and not os.path.lexists(out):
                os.replace(aside, out)
            if not os.path.lexists(aside):
                shutil.rmtree(aside.parent, ignore_errors=True)
        raise
    if aside is not None:
        shutil.rmtree(aside.parent, ignore_errors=True)  # a leftover goes at the next _repair


def _repair(out: Path) -> None:
    """Undo what a run killed inside ``write_folder`` left (caller holds the parent's lock): a
    folder set aside comes back when ``out`` is missing; qmac's own leftovers are deleted."""
    stem = glob.escape(f".{out.name}")
    for aside in sorted(out.parent.glob(f"{stem}.old-*")):
        kept = aside / out.name
        if [p.name for p in aside.iterdir()] not in ([], [out.name]) or \
                (os.path.lexists(kept) and not _ours(kept)):
            continue
        if os.path.lexists(kept) and not os.path.lexists(out):
            os.replace(kept, out)
        shutil.rmtree(aside, ignore_errors=True)
    for new in out.parent.glob(f"{stem}.tmp-*"):
        if _ours(new):
            shutil.rmtree(new, ignore_errors=True)


def _ours(folder: Path) -> bool:
    """A folder qmac wrote: it holds ``MARKER``, or it is empty."""
    return folder.is_dir() and not folder.is_symlink() and (
        (folder / MARKER).is_file() or not any(folder.iterdir()))
