"""flow.tools: tool discovery and messages that name the package to install."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from flow.tools import DEFAULT_LIBERTY, check_file, find_tools


def test_every_tool_found_with_a_version() -> None:
    versions = find_tools().versions()
    assert set(versions) == {"yosys", "sta", "iverilog"}
    assert versions["yosys"].startswith("Yosys ")
    assert "Icarus Verilog" in versions["iverilog"]
    assert versions["sta"][0].isdigit()


def _path_with(tmp_path: Path, *names: str) -> str:
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in names:
        os.symlink(shutil.which(name), folder / name)
    return str(folder)


def test_missing_sta_names_opensta(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", _path_with(tmp_path, "iverilog", "vvp"))
    with pytest.raises(RuntimeError, match=r"^sta not found on PATH: install the Debian package "
                                           r"opensta$"):
        find_tools()


def test_missing_iverilog_names_iverilog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", _path_with(tmp_path, "sta"))
    with pytest.raises(RuntimeError, match=r"^iverilog not found on PATH: install the Debian "
                                           r"package iverilog$"):
        find_tools()


def test_missing_default_library_names_qflow_package() -> None:
    missing = Path("/nonexistent/osu018_stdcells.lib")
    with pytest.raises(RuntimeError, match=r"^liberty file '/nonexistent/osu018_stdcells.lib' "
                                           r"does not exist \(install the Debian package "
                                           r"qflow-tech-osu018\)$"):
        check_file(missing, "liberty", missing)


def test_existing_file_is_resolved() -> None:
    assert check_file(DEFAULT_LIBERTY, "liberty", DEFAULT_LIBERTY) == DEFAULT_LIBERTY.resolve()


def test_library_files_give_each_liberty_its_own_cell_models(tmp_path: Path) -> None:
    """Models not given are the technology's own, and none for a Liberty without any; before,
    every Liberty got osu018's models (sky130 cells then met undefined modules)."""
    from flow.tech import TECHNOLOGIES
    from flow.tools import library_files

    osu018, osu035, sky130 = (TECHNOLOGIES[t] for t in ("osu018", "osu035", "sky130hd"))
    assert library_files(None, None)[1] == osu018.cells_verilog.resolve()
    assert library_files(osu035.liberty, None)[1] == osu035.cells_verilog.resolve()
    liberty, cells = library_files(sky130.liberty, None)
    assert cells is None and liberty.suffix == ".lib"
    own = tmp_path / "mine.lib"
    shutil.copy(osu018.liberty, own)
    assert library_files(own, None) == (own.resolve(), None)
    assert library_files(own, osu018.cells_verilog)[1] == osu018.cells_verilog.resolve()
