"""Two ``qmac synth`` runs into one ``-o`` at once: each works in its own private job folder and
publishes it whole, so both report the right power and the published folder is one run's.

``fake_flow.fake_evaluate`` stands in for the flow inside ``evaluate``'s job folder: it reports as
power the number of runs that wrote into its folder (1 alone, 2 in a shared folder). Before,
both runs worked in ``<out>/<design>/`` and printed 2 mW.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from fake_flow import SYNC_ENV
from flow.folders import MARKER

SUPPORT = Path(__file__).resolve().parents[1] / "support"
_SYNTH = """
import sys
import flow.evaluate
from fake_flow import fake_evaluate
flow.evaluate._evaluate_in = fake_evaluate
import qmac_cli
sys.exit(qmac_cli.main(["synth", "--weight", "int4", "--workload", "synthetic", "-o", sys.argv[1]]))
"""


def test_two_concurrent_synth_runs_into_one_folder(tmp_path: Path) -> None:
    out, sync = tmp_path / "out", tmp_path / "sync"
    sync.mkdir()
    env = {**os.environ, SYNC_ENV: str(sync),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(SUPPORT), os.environ.get("PYTHONPATH")]))}
    procs = [subprocess.Popen([sys.executable, "-c", _SYNTH, str(out)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    for stdout, _ in outputs:
        assert re.search(r"^\s+synthetic\s+1\.0000 ", stdout, re.M), stdout
    [folder] = out.iterdir()
    assert sorted(p.name for p in folder.iterdir()) == [MARKER, "toggles.txt"]
    assert (folder / "toggles.txt").read_text() == "1\n"


def test_synth_never_replaces_a_folder_it_did_not_write(tmp_path: Path) -> None:
    """A folder with the design's name but without the marker is the user's: refused, kept."""
    folder = tmp_path / "out" / "mac_int4_x_int8_acc24_wrap"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")
    done = subprocess.run([sys.executable, "-c", _SYNTH, str(tmp_path / "out")],
                          env={**os.environ, "PYTHONPATH": str(SUPPORT)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert re.fullmatch(r"qmac synth: error: out_dir '.*/out' holds "
                        r"'mac_int4_x_int8_acc24_wrap', which qmac did not write \(it is not "
                        r"empty and has no \.qmac-report file\): remove it or name another "
                        r"folder\n", done.stderr), done.stderr
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
