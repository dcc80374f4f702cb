"""``run --weights`` on a checkpoint trained on standardised features: the user gives raw
features, run applies the checkpoint's training statistics before the forward pass, says
so, and leaves random inputs (already in the standardised space) as they are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nncli.core.train.checkpoint import read_checkpoint, save_checkpoint
from nncli.core.train.datasets import load_table
from nncli.core.train.trainer import RunConfig, model_spec, train

NOTE = "inputs: standardised with the checkpoint's statistics (from the training split)"


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    """A 3-feature table in wildly different units, trained standardised (the default)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("std")
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(500, 80, 160), rng.normal(0.02, 0.01, 160), rng.normal(-3, 1, 160)
    label = ((a - 500) / 80 + (b - 0.02) / 0.01 > 0).astype(int)
    path = folder / "t.csv"
    lines = [
        f"{float(u)!r},{float(v)!r},{float(w)!r},{y}"
        for u, v, w, y in zip(a, b, c, label, strict=True)
    ]
    path.write_text("a,b,c,label\n" + "\n".join(lines) + "\n", encoding="utf-8")
    data = load_table(str(path), seed=1)
    spec = model_spec(data, config=None, hidden=(6,), activation="tanh", init="xavier_normal")
    config = RunConfig("tanh", "xavier_normal", "adam", 0.05, (6,), "bce_with_logits")
    run = train(data, config, spec, epochs=3, batch=16, seed=1, device="cpu")
    save = save_checkpoint(folder / "m.pt", run, data)
    torch.set_num_threads(threads)
    return data, run, save, folder


def _raw_test_rows(data, folder: Path, lines: int = 12) -> tuple[Path, np.ndarray]:
    """The table's first test rows in the file's own units (the standardisation undone
    exactly: the test rows are read back from the CSV as float32)."""
    st = data.standardization
    raw = (data.x_test[:lines].astype(np.float64) * st.std + st.mean).astype(np.float32)
    rows = folder / "rows.csv"
    rows.write_text("\n".join(",".join(repr(float(v)) for v in row) for row in raw) + "\n")
    return rows, raw


def test_input_rows_are_standardised_with_the_checkpoints_statistics(cli, table_run) -> None:
    data, run, save, folder = table_run
    rows, raw = _raw_test_rows(data, folder)
    doc = cli("run", "--weights", str(save), "--input", str(rows), "--json").json()
    st = data.standardization
    inputs = st.apply(raw)  # an independent path: the dataset's rule on the raw rows
    np.testing.assert_allclose(inputs, data.x_test[:12], rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        expected = run.model(torch.from_numpy(inputs)).numpy()
        unscaled = run.model(torch.from_numpy(raw)).numpy()
    np.testing.assert_array_equal(np.array(doc["output"], dtype=np.float32), expected)
    assert not np.allclose(expected, unscaled, atol=1e-2)  # raw rows alone would be wrong
    assert doc["standardization"] == {"mean": list(st.mean), "std": list(st.std), "applied": True}
    assert doc["input"] == str(rows)


def test_the_table_says_the_inputs_were_standardised(cli, table_run) -> None:
    data, _run, save, folder = table_run
    rows, _raw = _raw_test_rows(data, folder, 3)
    out = cli("run", "--weights", str(save), "--input", str(rows))
    assert out.exit_code == 0, out.stderr
    assert NOTE in out.stdout


def test_random_inputs_are_drawn_standardised_and_not_transformed(cli, table_run, tmp_path) -> None:
    _data, _run, save, _folder = table_run
    doc = cli("run", "--weights", str(save), "--seed", "4", "--json").json()
    assert doc["standardization"]["applied"] is False
    assert doc["input"] == "random N(0, 1)"
    # The same weights without the statistics: the very same output, so nothing was applied.
    raw = torch.load(save, weights_only=True)
    raw["standardization"] = None
    plain = tmp_path / "plain.pt"
    torch.save(raw, plain)
    other = cli("run", "--weights", str(plain), "--seed", "4", "--json").json()
    assert other["standardization"] is None
    assert doc["output"] == other["output"]
    text = cli("run", "--weights", str(save), "--seed", "4").stdout
    assert "random N(0, 1), already in the standardised space" in text and NOTE not in text


def test_a_checkpoint_without_statistics_takes_the_rows_as_they_are(
    cli, table_run, tmp_path
) -> None:
    data, run, save, folder = table_run
    raw = torch.load(save, weights_only=True)
    del raw["standardization"]  # as a checkpoint written before the entry existed
    old = tmp_path / "old.pt"
    torch.save(raw, old)
    rows, values = _raw_test_rows(data, folder, 4)
    doc = cli("run", "--weights", str(old), "--input", str(rows), "--json").json()
    assert doc["standardization"] is None
    with torch.no_grad():
        expected = run.model(torch.from_numpy(values)).numpy()
    np.testing.assert_array_equal(np.array(doc["output"], dtype=np.float32), expected)
    assert NOTE not in cli("run", "--weights", str(old), "--input", str(rows)).stdout


def test_npy_rows_too(cli, table_run) -> None:
    data, run, save, folder = table_run
    _rows, raw = _raw_test_rows(data, folder, 5)
    npy = folder / "rows.npy"
    np.save(npy, raw)
    doc = cli("run", "--weights", str(save), "--input", str(npy), "--json").json()
    with torch.no_grad():
        expected = run.model(torch.from_numpy(data.standardization.apply(raw))).numpy()
    np.testing.assert_array_equal(np.array(doc["output"], dtype=np.float32), expected)
    np.testing.assert_array_equal(np.load(npy), raw)  # the file is never touched


def test_run_forward_never_writes_into_rows_it_does_not_own(table_run) -> None:
    from nncli.core.model.forward import run_forward

    _data, _run, save, _folder = table_run
    read = read_checkpoint(save)
    base = np.array([[500.0, 0.02, -3.0, 9.0], [420.0, 0.03, -2.0, 9.0]], dtype=np.float32)
    view = base[:, :3]  # not its own data: standardised into a copy
    before = base.copy()
    result = run_forward(
        read.spec, "cpu", rows=view, state_dict=read.state, standardization=read.standardization
    )
    np.testing.assert_array_equal(base, before)
    assert result.standardized_input and result.standardization == read.standardization


def test_summary_weights_still_works(cli, table_run) -> None:
    _data, _run, save, _folder = table_run
    doc = cli("summary", "--weights", str(save), "--json").json()
    assert doc["input_shape"][-1] == 3 and doc["weights"] == str(save)
