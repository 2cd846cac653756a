"""models.accuracy and ``qmac accuracy``: the metrics, their JSON, the table, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import qmac_cli
from models import accuracy
from models.accuracy import (_end_to_end, accuracy_study, accuracy_table, cached_accuracy_study,
                             sqnr_db)
from models.minilm import SENTENCES

FEW = SENTENCES[:4]

# One xdist worker runs this whole module, so its expensive module fixture runs once.
pytestmark = pytest.mark.xdist_group("models_accuracy")


@pytest.fixture(scope="module")
def study() -> dict:
    return accuracy_study(("int8", "int4", "dint4"), sentences=FEW, progress=lambda _: None)


def test_study_covers_every_layer_and_format(study: dict) -> None:
    assert study["schema"] == "qmac.accuracy/1"
    assert study["sentences"]["count"] == 4
    assert list(study["formats"]) == ["int8", "int4", "dint4"]
    for res in study["formats"].values():
        assert len(res["layers"]) == 36
        assert set(res["end_to_end"]) == {"w_only", "w_a8"}
    json.dumps(study, allow_nan=False)


def test_dint4_underflows_less_than_int4_and_only_dint_has_specials(study: dict) -> None:
    """The reason dINT exists, measured on trained weights."""
    int4, dint4 = study["formats"]["int4"]["mean"], study["formats"]["dint4"]["mean"]
    assert dint4["underflow"] < int4["underflow"]
    assert int4["special_share"] == 0 < dint4["special_share"]


def test_more_bits_mean_more_accuracy(study: dict) -> None:
    f = study["formats"]
    assert f["int8"]["mean"]["weight_sqnr_db"] > f["int4"]["mean"]["weight_sqnr_db"] + 18
    assert f["int8"]["end_to_end"]["w_a8"]["cosine_mean"] > f["int4"]["end_to_end"]["w_a8"][
        "cosine_mean"]


def test_activation_quantization_only_adds_error_per_layer(study: dict) -> None:
    for layer in study["formats"]["int8"]["layers"].values():
        assert layer["output_sqnr_wa8_db"] < layer["output_sqnr_w_db"]


def test_end_to_end_metrics_on_known_embeddings() -> None:
    ref = np.eye(3)
    assert _end_to_end(ref, ref) == {"cosine_mean": 1.0, "cosine_min": 1.0,
                                     "similarity_error_max": 0.0,
                                     "similarity_error_mean": 0.0, "nn_agreement": 1.0}
    rotated = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    result = _end_to_end(ref, rotated)
    assert result["cosine_min"] == 0.0 and result["cosine_mean"] == pytest.approx(1 / 3)


def test_sqnr_of_known_noise() -> None:
    assert sqnr_db(np.ones(100), np.full(100, 1.1)) == pytest.approx(20.0)
    assert sqnr_db(np.ones(4), np.ones(4)) == float("inf")


def test_table_rows_follow_the_study(study: dict) -> None:
    rows = accuracy_table(study)
    assert [r["format"] for r in rows] == ["int8", "int4", "dint4"]
    e2e = study["formats"]["dint4"]["end_to_end"]["w_a8"]
    assert rows[2]["cos W+A8 mean"] == f"{e2e['cosine_mean']:.4f}"


def test_cached_study_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(accuracy, "accuracy_study",
                        lambda *args, **kwargs: calls.append(args) or {"formats": {}})
    first = cached_accuracy_study(tmp_path, ("int4",), progress=lambda _: None)
    again = cached_accuracy_study(tmp_path, ("int4",), progress=lambda _: None)
    other = cached_accuracy_study(tmp_path, ("dint4",), progress=lambda _: None)
    assert first == again == other == {"formats": {}}
    assert len(calls) == 2 and len(list(tmp_path.glob("accuracy-*.json"))) == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"granularity": "tensor"},
     r"^granularity must be one of \['channel', 'group'\], not 'tensor'$"),
    ({"formats": "int4"}, r"^formats must be a non-empty list of format names, not 'int4'$"),
    ({"formats": ["uint4"]}, r"^format must be one of int8, int4, dint4, .*not 'uint4'$"),
    ({"granularity": "group", "group_size": 5},
     r"^group_size must be a positive integer dividing K = 384, not 5$"),
])
def test_bad_arguments_name_the_parameter(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        accuracy_study(**{"sentences": FEW[:2], "progress": lambda _: None, **kwargs})


def test_cli_prints_the_table_and_writes_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("models.cli.accuracy_study",
                        lambda *a, **k: accuracy_study(*a, sentences=FEW[:2], **k))
    out = tmp_path / "acc.json"
    assert qmac_cli.main(["accuracy", "--formats", "int4,dint4", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert re.search(r"^\| int4 \|", text, re.MULTILINE)
    assert re.search(r"^\| dint4 \|", text, re.MULTILINE)
    assert list(json.loads(out.read_text())["formats"]) == ["int4", "dint4"]


@pytest.mark.parametrize("argv, message", [
    (["--formats", "int3x"], r"^qmac accuracy: error: format must be one of .*not 'int3x'$"),
    (["--granularity", "group"],
     r"^qmac accuracy: error: --group-size is required with --granularity group \(e\.g\. 32\)$"),
    (["--group-size", "32"], r"^qmac accuracy: error: group_size must be None unless "
                             r"granularity is 'group', not 32$"),
    (["-o", "/nonexistent/dir/a.json"],
     r"^qmac accuracy: error: --out must be in an existing folder, not '/nonexistent/dir/a.json'$"),
])
def test_cli_bad_input_is_one_line_exit_2(argv: list[str], message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert qmac_cli.main(["accuracy", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert re.match(message, err) and "\n" not in err


def test_block_scaled_weights_and_mxint8_activations() -> None:
    """MXFP4 and NVFP4 weights with MXINT8 activations run through the same study and table."""
    result = accuracy_study(("mxfp4", "nvfp4"), sentences=FEW[:2], progress=lambda _: None,
                            act="mxint8")
    assert result["activations"].startswith("mxint8 per block of K")
    assert [row["format"] for row in accuracy_table(result)] == ["mxfp4", "nvfp4"]
    for res in result["formats"].values():
        assert 0 < res["mean"]["underflow"] < 0.2
        assert res["mean"]["special_share"] == 0
        assert 0.9 < res["end_to_end"]["w_a8"]["cosine_mean"] < 1


def test_cli_bad_activation_format_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert qmac_cli.main(["accuracy", "--act", "mxint9"]) == 2
    assert re.fullmatch(r"qmac accuracy: error: format must be one of .*not 'mxint9'",
                        capsys.readouterr().err.strip())
