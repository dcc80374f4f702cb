"""`nncli loss` and `nncli losses` through the CLI: both modes, the JSON contract, the
error paths (exit 2, `Error:`, nothing written) and the golden tables."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from nncli.core.loss.losses import LOSSES, PAIRINGS
from tests.conftest import Invoke, check_golden

# ------------------------------------------------------------------ catalogue


def test_losses_lists_every_loss(cli: Invoke) -> None:
    out = cli("losses", env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.stderr
    for name in LOSSES:
        assert name in out.stdout


@pytest.mark.parametrize("args", [["losses", "--json"], ["loss", "--list", "--json"]])
def test_catalogue_json(cli: Invoke, args: list[str]) -> None:
    out = cli(*args)
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    assert doc["schema_version"] == 1
    assert [entry["name"] for entry in doc["losses"]] == list(LOSSES)
    for entry in doc["losses"]:
        for key in ("task", "prediction", "target", "pairs_with", "formula", "gradient"):
            assert entry[key], (entry["name"], key)
    assert len(doc["pairings"]) == len(PAIRINGS)


@pytest.mark.parametrize("width", ["80", "120"])
def test_catalogue_golden(cli: Invoke, width: str) -> None:
    out = cli("losses", env={"COLUMNS": width})
    assert out.exit_code == 0, out.stderr
    check_golden(f"losses_catalogue_{width}.txt", out.stdout)
    assert all(len(line) <= int(width) for line in out.stdout.splitlines())


@pytest.mark.parametrize("width", ["80", "120"])
def test_info_golden(cli: Invoke, width: str) -> None:
    out = cli("loss", "bce", "--info", env={"COLUMNS": width})
    assert out.exit_code == 0, out.stderr
    check_golden(f"loss_info_bce_{width}.txt", out.stdout)


def test_info_json_and_aliases(cli: Invoke) -> None:
    doc = cli("loss", "ce", "l2", "--info", "--json").json()
    assert [entry["name"] for entry in doc["losses"]] == ["cross_entropy", "mse"]


def test_an_unknown_loss_suggests_the_closest(cli: Invoke) -> None:
    out = cli("loss", "cross_entropi")
    assert out.exit_code == 2
    assert out.stderr.startswith("Error: unknown loss 'cross_entropi'")
    assert "cross_entropy" in out.stderr


# ------------------------------------------------------------------ figures


def test_mse_vs_bce_through_sigmoid(cli: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "lesson.png"
    out = cli("loss", "mse", "bce", "--through", "sigmoid", "-o", str(target), "--json")
    assert out.exit_code == 0, out.stderr
    assert target.stat().st_size > 0
    doc = out.json()
    assert doc["command"] == "loss"
    assert (doc["through"], doc["x_kind"], doc["target"]) == ("sigmoid", "logit", 1.0)
    series = {s["loss"]: s for s in doc["series"]}
    mse, bce = series["mse"], series["bce"]
    for s in (mse, bce):
        assert len(s["x"]) == len(s["value"]) == len(s["grad"]) == doc["points"]
    # The chain rule by hand, at every sample: y = 1, p = σ(z).
    z = torch.tensor(bce["x"], dtype=torch.float64)
    p = torch.sigmoid(z)
    assert torch.allclose(torch.tensor(bce["grad"], dtype=torch.float64), p - 1, atol=1e-9)
    mse_grad = 2 * (p - 1) * p * (1 - p)
    assert torch.allclose(torch.tensor(mse["grad"], dtype=torch.float64), mse_grad, atol=1e-9)
    # The lesson: confidently wrong (z ≪ 0), MSE's gradient vanishes and BCE's does not.
    assert mse["saturation"] and mse["saturation"][0][0] == pytest.approx(z[0].item())
    assert not any(lo <= -3 <= hi for lo, hi in bce["saturation"])


def test_figure_text_golden(cli: Invoke, tmp_path: Path) -> None:
    for width in ("80", "120"):
        out = cli("loss", "mse", "bce", "--through", "sigmoid", "-o", str(tmp_path / "f.png"),
                  env={"COLUMNS": width})  # fmt: skip
        assert out.exit_code == 0, out.stderr
        text = out.stdout.replace(str(tmp_path), "TMP")
        check_golden(f"loss_figure_{width}.txt", text)


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_every_format_and_default_names(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    monkeypatch.chdir(tmp_path)
    out = cli("loss", "huber", "-o", f"h.{fmt}", "--delta", "0.5")
    assert out.exit_code == 0, out.stderr
    assert (tmp_path / f"h.{fmt}").stat().st_size > 0
    assert cli("loss", "mse", "bce", "--through", "sigmoid").exit_code == 0
    assert (tmp_path / "loss_mse_bce_sigmoid.png").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["mse", "--through", "relu"], "--through must be one of sigmoid, softmax"),
        (["mse", "--dtype", "float16"], "--dtype must be one of float32, float64"),
        (["mse", "--classes", "1"], "--classes must be at least 2"),
        (["mse", "-n", "1"], "--points must be at least 2"),
        (["mse", "--range", "1", "1"], "--range"),
        (["mse", "--target", "abc"], "--target for a figure is one number"),
        (["mse", "--target", "nan"], "--target must be finite"),
        (["mse", "--delta", "1"], "--delta does not apply to mse"),
        (["huber", "--delta", "inf"], "--delta must be finite"),
        (["mse", "-o", "x.bmp"], "has '.bmp'"),
        (["mse", "--reduction", "sum"], "--reduction goes with --pred"),
        (["mse", "--var", "1"], "--var goes with --pred"),
        ([], "name at least one loss"),
    ],
)
def test_figure_usage_errors(cli: Invoke, tmp_path: Path, args: list[str], message: str) -> None:
    extra = [] if "-o" in args else ["-o", str(tmp_path / "x.png")]
    out = cli("loss", *args, *extra)
    assert out.exit_code == 2, out.stderr
    assert out.stderr.startswith("Error: ") and message in out.stderr
    assert "Traceback" not in out.stderr
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ numbers


def test_mse_numbers_match_the_hand_calculation(cli: Invoke) -> None:
    doc = cli("loss", "mse", "--pred", "1,2,3", "--target", "1,1,1", "--json").json()
    assert doc["value"] == pytest.approx(5 / 3)
    assert doc["elements"] == pytest.approx([0.0, 1.0, 4.0])
    assert doc["grad"] == pytest.approx([0.0, 2 / 3, 4 / 3])  # 2(ŷ − y)/n
    assert doc["reduction"] == "mean" and doc["loss"] == "mse"
    summed = cli("loss", "l2", "--pred", "1,2,3", "--target", "1,1,1", "--reduction", "sum",
                 "--json").json()  # fmt: skip
    assert summed["value"] == pytest.approx(5.0)
    assert summed["grad"] == pytest.approx([0.0, 2.0, 4.0])


def test_cross_entropy_numbers_match_torch(cli: Invoke) -> None:
    doc = cli("loss", "ce", "--pred", "2.0,0.5,-1", "--target", "0", "--json").json()
    logits = torch.tensor([[2.0, 0.5, -1.0]], dtype=torch.float64, requires_grad=True)
    expected = F.cross_entropy(logits, torch.tensor([0]))
    expected.backward()
    assert doc["value"] == pytest.approx(expected.item())
    assert logits.grad is not None
    flat = (
        [v for row in doc["grad"] for v in row] if isinstance(doc["grad"][0], list) else doc["grad"]
    )
    assert flat == pytest.approx(logits.grad.flatten().tolist())
    # ∂CE/∂zᵢ = softmaxᵢ − 1[i = y]
    soft = [math.exp(v) for v in (2.0, 0.5, -1.0)]
    total = sum(soft)
    assert flat == pytest.approx([soft[0] / total - 1, soft[1] / total, soft[2] / total])


def test_numbers_table_golden(cli: Invoke) -> None:
    for width in ("80", "120"):
        out = cli("loss", "bce", "--pred", "0.9,0.2;0.4,0.6", "--target", "1,0;1,1",
                  env={"COLUMNS": width})  # fmt: skip
        assert out.exit_code == 0, out.stderr
        check_golden(f"loss_numbers_{width}.txt", out.stdout)


def test_double_softmax_is_a_warning(cli: Invoke) -> None:
    out = cli("loss", "cross_entropy", "--pred", "0.2,0.7,0.1", "--target", "1")
    assert out.exit_code == 0, out.stderr
    assert "Warning:" in out.stderr and "softmax" in out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bce", "--pred", "1.5", "--target", "1"], "1.5"),
        (["cross_entropy", "--pred", "1,2,3", "--target", "3"], "3"),
        (["cross_entropy", "--pred", "1,2,3", "--target", "0.5"], "0.5"),
        (["mse", "--pred", "1,2,3", "--target", "1,2"], "shape"),
        (["mse", "--pred", "", "--target", "1"], "--pred"),
        (["mse", "--pred", "nan", "--target", "1"], "nan"),
        (["mse", "--pred", "1", "--target", "inf"], "inf"),
        (["mse", "--pred", "1"], "--pred needs --target"),
        (["mse", "bce", "--pred", "1", "--target", "1"], "one loss at a time"),
        (["mse", "--pred", "1", "--target", "1", "--pred2", "1"], "--pred2 does not apply"),
        (["margin_ranking", "--pred", "1", "--target", "1"], "--pred2"),
        (["mse", "--pred", "1", "--target", "1", "--logits"], "--logits applies to the figure"),
        (["mse", "--pred", "1", "--target", "1", "--reduction", "max"], "--reduction must be"),
        (["mse", "--pred", "missing.csv", "--target", "1"], "missing.csv"),
    ],
)
def test_numbers_usage_errors(cli: Invoke, args: list[str], message: str) -> None:
    out = cli("loss", *args)
    assert out.exit_code == 2, (args, out.stdout, out.stderr)
    assert out.stderr.startswith("Error: ") and message in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_numbers_from_files(cli: Invoke, tmp_path: Path) -> None:
    import numpy as np

    pred, target = tmp_path / "p.npy", tmp_path / "t.csv"
    np.save(pred, np.array([[0.5, 1.5], [2.0, -1.0]]))
    target.write_text("0,1\n2,0\n")
    doc = cli("loss", "mae", "--pred", str(pred), "--target", str(target), "--json").json()
    assert doc["value"] == pytest.approx((0.5 + 0.5 + 0 + 1) / 4)
