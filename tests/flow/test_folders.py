"""flow.folders: a report folder replaces only its own kind, and no failure or kill mid-swap
loses it (fault injection at every rename)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from flow import folders
from flow.folders import MARKER, check_folder, write_folder


def _writer(text: str):
    def write(folder: Path) -> None:
        (folder / "report.md").write_text(text)
    return write


def _siblings(out: Path) -> list[str]:
    """Everything next to ``out`` but ``out`` itself (leftovers of a swap)."""
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """A report folder holding the report "old"."""
    folder = tmp_path / "parent" / "report"
    write_folder(folder, _writer("old"))
    return folder


def test_writes_marker_and_replaces_own_folder(out: Path) -> None:
    assert (out / MARKER).is_file() and (out / "report.md").read_text() == "old"
    write_folder(out, _writer("new"))
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "report.md"]
    assert (out / "report.md").read_text() == "new"
    assert _siblings(out) == []


def test_empty_folder_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    write_folder(tmp_path / "empty", _writer("new"))
    assert (tmp_path / "empty" / "report.md").read_text() == "new"


@pytest.mark.parametrize("kind", ["folder", "file", "folder-with-hidden-file"])
def test_never_replaces_what_it_did_not_write(tmp_path: Path, kind: str) -> None:
    """Before: ``qmac report -o DIR`` deleted any DIR (``-o build`` took the cache with it)."""
    target = tmp_path / "user"
    if kind == "file":
        target.write_text("user data")
        message = rf"^out_dir '{re.escape(str(target))}' is a file, not a folder: name a new or " \
                  rf"empty folder$"
    else:
        target.mkdir()
        (target / (".keep" if kind.endswith("hidden-file") else "thesis.tex")).write_text("data")
        message = rf"^out_dir '{re.escape(str(target))}' is a folder that qmac report did not " \
                  rf"write \(it is not empty and has no \.qmac-report file\): name a new or " \
                  rf"empty folder$"
    before = sorted((p.name, p.read_bytes()) for p in
                    ([target] if target.is_file() else target.iterdir()))
    for call in (lambda: check_folder(target), lambda: write_folder(target, _writer("x"))):
        with pytest.raises(ValueError, match=message):
            call()
    after = sorted((p.name, p.read_bytes()) for p in
                   ([target] if target.is_file() else target.iterdir()))
    assert after == before
    assert _siblings(target) == []


def test_root_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^out_dir must name a folder below /, not '/'$"):
        check_folder("/")


def test_failed_write_keeps_previous(out: Path) -> None:
    def broken(folder: Path) -> None:
        (folder / "report.md").write_text("half")
        raise RuntimeError("plotting failed")

    with pytest.raises(RuntimeError, match=r"^plotting failed$"):
        write_folder(out, broken)
    assert (out / "report.md").read_text() == "old"
    assert _siblings(out) == []


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
@pytest.mark.parametrize("failing_call", [1, 2])
def test_interrupted_swap_keeps_previous(out: Path, monkeypatch: pytest.MonkeyPatch,
                                         error: type[BaseException], failing_call: int) -> None:
    """A failure or Ctrl-C at either rename of the swap: the old report stays (or comes back).

    Before: an exception between the renames left no report folder, only a hidden ``.old-*``.
    """
    real = os.replace
    calls: list[tuple] = []

    def faulty(src, dst) -> None:
        calls.append((src, dst))
        if len(calls) == failing_call:
            if failing_call == 2:
                assert not out.exists(), "the first rename has set the report aside"
            raise error("injected")
        real(src, dst)

    monkeypatch.setattr(folders.os, "replace", faulty)
    with pytest.raises(error, match=r"^injected$"):
        write_folder(out, _writer("new"))
    monkeypatch.setattr(folders.os, "replace", real)
    assert (out / "report.md").read_text() == "old"
    assert _siblings(out) == []


def test_failed_cleanup_after_swap_keeps_new_and_next_run_tidies(
        out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = folders.shutil.rmtree

    def refuse(path, ignore_errors=False):
        if ".old-" in str(path):
            return None  # as if deleting the old report failed
        return real(path, ignore_errors=ignore_errors)

    monkeypatch.setattr(folders.shutil, "rmtree", refuse)
    write_folder(out, _writer("new"))
    assert (out / "report.md").read_text() == "new"
    assert len(_siblings(out)) == 1
    monkeypatch.setattr(folders.shutil, "rmtree", real)
    check_folder(out)
    assert _siblings(out) == [] and (out / "report.md").read_text() == "new"


def test_run_killed_between_renames_is_repaired_by_the_next(out: Path) -> None:
    """SIGKILL between the renames: no exception handler runs, so the next run repairs it."""
    aside = out.parent / f".{out.name}.old-killed"
    aside.mkdir()
    os.replace(out, aside / out.name)
    leftover = out.parent / f".{out.name}.tmp-killed"
    leftover.mkdir()
    (leftover / MARKER).write_text("")
    assert check_folder(out) == out
    assert (out / "report.md").read_text() == "old"
    assert _siblings(out) == []


def test_repair_leaves_lookalike_folders_of_the_user_alone(out: Path) -> None:
    lookalike = out.parent / f".{out.name}.old-mine"
    lookalike.mkdir()
    (lookalike / "notes.txt").write_text("mine")
    write_folder(out, _writer("new"))
    assert (lookalike / "notes.txt").read_text() == "mine"
