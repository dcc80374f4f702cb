"""Checkpoints (nncli.core.train.checkpoint): round trip, exact outputs, safe loading,
and every bad file (exit 2)."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest
import torch

from nncli.core.model.config import parse_config
from nncli.core.train import checkpoint
from nncli.core.train.checkpoint import load_checkpoint, load_model, save_checkpoint, spec_to_toml
from nncli.core.train.datasets import expand_features, generate
from nncli.core.train.trainer import RunConfig, model_spec, train
from nncli.errors import RuntimeFailure, UsageError


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models: intra-op threads only add contention on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def trained(_one_thread):
    data = generate("moons", samples=100, seed=3)
    spec = model_spec(data, config=None, hidden=(5, 3), activation="relu", init="kaiming_normal")
    run = RunConfig("relu", "kaiming_normal", "adam", 0.01, (5, 3), "bce_with_logits")
    return data, train(data, run, spec, epochs=3, batch=10, seed=3, device="cpu")


def test_round_trip_reproduces_outputs_exactly(tmp_path, trained):
    data, run = trained
    path = save_checkpoint(tmp_path / "m.pt", run, data)
    assert path == tmp_path / "m.pt"
    assert os.listdir(tmp_path) == ["m.pt"]  # no temp file left
    spec, state = load_checkpoint(path)
    assert spec.layers == run.spec.layers and spec.input_features == 2
    for key, value in run.model.state_dict().items():
        assert torch.equal(state[key], value)
    built = load_model(path)
    x = torch.from_numpy(data.x_test)
    with torch.no_grad():
        assert torch.equal(built.model(x), run.model(x))


def test_payload_is_plain_data(tmp_path, trained):
    data, run = trained
    path = save_checkpoint(tmp_path / "m.pt", run, data)
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "nncli-checkpoint" and raw["version"] == 1
    assert raw["dataset"]["name"] == "moons" and raw["dataset"]["seed"] == 3
    assert raw["run"]["optimizer"] == "adam" and raw["run"]["epochs"] == 3
    assert parse_config(raw["config"]).layers == run.spec.layers


def test_spec_to_toml_round_trips_awkward_values():
    text = """
name = "a \\"quoted\\" name ü"
description = "tab\\there, del\\u007f"
input_features = 3
[[layers]]
out_features = 4
activation = "leaky_relu"
init = "xavier_normal"
init_args = { gain = 1.6666666666666667 }
name = "first"
bias = false
[[layers]]
out_features = 2
init = "trunc_normal"
init_args = { mean = 0.0, std = 1e-05, a = -2.0, b = 2.0 }
"""
    spec = parse_config(text, "x.toml")
    again = parse_config(spec_to_toml(spec), "x.toml")
    assert again == spec


def test_matching_config_is_accepted_and_a_different_one_refused(tmp_path, trained):
    data, run = trained
    path = save_checkpoint(tmp_path / "m.pt", run, data)
    same = parse_config(
        'input_features = 2\n[[layers]]\nout_features = 5\nactivation = "relu"\n'
        '[[layers]]\nout_features = 3\nactivation = "relu"\ninit = "xavier_normal"\n'
        '[[layers]]\nout_features = 1\nname = "out"\n',
        "same.toml",
    )
    assert load_checkpoint(path, same)[0].layers == run.spec.layers  # inits may differ
    other = parse_config(
        'input_features = 2\n[[layers]]\nout_features = 5\nactivation = "tanh"\n'
        "[[layers]]\nout_features = 1\n",
        "other.toml",
    )
    with pytest.raises(UsageError) as err:
        load_checkpoint(path, other)
    assert "2 → 5 relu → 3 relu → 1" in err.value.message
    assert "other.toml is 2 → 5 tanh → 1" in err.value.message
    assert err.value.exit_code == 2


def test_a_pickle_with_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({"format": "nncli-checkpoint", "x": Evil()}, path)
    with pytest.raises(UsageError, match="not an nncli checkpoint"):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a file written by torch.save"),
        (b"hello, not a checkpoint\n", "not a file written by torch.save"),
    ],
)
def test_not_a_torch_file(tmp_path, content, message):
    path = tmp_path / "x.pt"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=message):
        load_checkpoint(path)


def test_truncated_file(tmp_path, trained):
    data, run = trained
    path = save_checkpoint(tmp_path / "m.pt", run, data)
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(UsageError, match="not an nncli checkpoint"):
        load_checkpoint(path)


def test_missing_and_directory(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(UsageError, match="not a regular file"):
        load_checkpoint(tmp_path)


def _tampered(tmp_path, trained, **changes):
    data, run = trained
    path = save_checkpoint(tmp_path / "m.pt", run, data)
    raw = torch.load(path, weights_only=True)
    for key, value in changes.items():
        if value is None:
            del raw[key]
        else:
            raw[key] = value(raw[key]) if callable(value) else value
    torch.save(raw, path)
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "other"}, "no 'format'"),
        ({"version": 2}, "format version 2 is newer"),
        ({"version": "1"}, "bad version"),
        ({"config": None}, "no config"),
        ({"config": "input_features = 0\n"}, "input_features: must be an integer > 0"),
        ({"state_dict": None}, "no state_dict"),
        ({"state_dict": lambda s: {k: v for k, v in s.items() if k != "linear1.bias"}},
         "missing linear1.bias"),
        ({"state_dict": lambda s: {**s, "extra": torch.zeros(1)}}, "unexpected extra"),
        ({"state_dict": lambda s: {**s, "linear1.weight": torch.zeros(2, 2)}},
         r"linear1.weight has shape \[2, 2\], but its config needs \[5, 2\]"),
        ({"state_dict": lambda s: {**s, "linear1.weight": torch.zeros(5, 2, dtype=torch.int64)}},
         "linear1.weight is not a float tensor"),
    ],
)  # fmt: skip
def test_tampered_checkpoints(tmp_path, trained, changes, message):
    path = _tampered(tmp_path, trained, **changes)
    with pytest.raises(UsageError, match=message):
        load_checkpoint(path)


def test_not_a_dict(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(UsageError, match="not an nncli checkpoint"):
        load_checkpoint(path)


def test_unwritable_target_leaves_nothing(tmp_path, trained):
    data, run = trained
    with pytest.raises(RuntimeFailure, match="cannot write"):
        save_checkpoint(tmp_path / "missing" / "m.pt", run, data)


def test_interrupted_save_leaves_no_file(tmp_path, trained, monkeypatch):
    data, run = trained

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "m.pt", run, data)
    assert os.listdir(tmp_path) == []


def test_a_zip_that_is_not_torch(tmp_path):
    path = tmp_path / "z.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a.txt", "x")
    with pytest.raises(UsageError, match="not an nncli checkpoint"):
        load_checkpoint(path)


def test_describe():
    spec = parse_config(
        'input_features = 3\n[[layers]]\nout_features = 4\nactivation = "tanh"\nbias = false\n'
        "[[layers]]\nout_features = 1\n"
    )
    assert checkpoint.describe(spec) == "3 → 4 tanh (no bias) → 1"


# --- the standardisation travels with the weights -----------------------------------


@pytest.fixture(scope="module")
def trained_standardized(_one_thread):
    data = generate("xor", samples=120, seed=5, features=["x", "y", "xy"], standardize=True)
    spec = model_spec(data, config=None, hidden=(4,), activation="tanh", init="xavier_normal")
    run = RunConfig("tanh", "xavier_normal", "adam", 0.01, (4,), "bce_with_logits")
    return data, train(data, run, spec, epochs=2, batch=16, seed=5, device="cpu")


def test_standardization_is_saved_and_read_back(tmp_path, trained_standardized):
    data, run = trained_standardized
    path = save_checkpoint(tmp_path / "s.pt", run, data)
    raw = torch.load(path, weights_only=True)
    assert raw["version"] == 1  # an added key, no new meaning: the version stays
    entry = raw["standardization"]
    assert entry["mean"] == list(data.standardization.mean)
    assert entry["std"] == list(data.standardization.std)
    assert entry["features"] == ["x", "y", "xy"]
    read = checkpoint.read_checkpoint(path)
    assert read.standardization == data.standardization
    assert read.features == ("x", "y", "xy")
    # The saved model on the standardised raw inputs gives the trained model's outputs.
    built = load_model(path)
    inputs = read.standardization.apply(expand_features(data.raw_test, data.features))
    np.testing.assert_array_equal(inputs, data.x_test)
    with torch.no_grad():
        ours = built.model(torch.from_numpy(inputs))
        assert torch.equal(ours, run.model(torch.from_numpy(data.x_test)))


def test_no_standardization_is_saved_as_none(tmp_path, trained):
    data, run = trained
    path = save_checkpoint(tmp_path / "m.pt", run, data)
    assert torch.load(path, weights_only=True)["standardization"] is None
    assert checkpoint.read_checkpoint(path).standardization is None


def test_an_older_checkpoint_without_the_entry_still_loads(tmp_path, trained):
    path = _tampered(tmp_path, trained, standardization=None)  # the key deleted
    assert "standardization" not in torch.load(path, weights_only=True)
    read = checkpoint.read_checkpoint(path)
    assert read.standardization is None and read.features is None
    spec, state = load_checkpoint(path)  # the old two-value API is unchanged
    assert spec.input_features == 2 and "linear1.weight" in state


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ([1, 2], "standardization is not a mapping but list"),
        ({"std": [1.0, 1.0]}, "has no 'mean' list"),
        ({"mean": [0.0], "std": [1.0]}, "has 1 mean values, but the model takes 2 inputs"),
        ({"mean": [0.0, "a"], "std": [1.0, 1.0]}, "mean holds 'a', not a number"),
        (
            {"mean": [0.0, 0.0], "std": [1.0, 0.0]},
            "std holds 0.0; each must be finite and positive",
        ),
        ({"mean": [0.0, float("nan")], "std": [1.0, 1.0]}, "mean holds nan; each must be finite"),
        ({"mean": [0.0, True], "std": [1.0, 1.0]}, "mean holds True, not a number"),
    ],
)
def test_a_bad_standardization_is_refused(tmp_path, trained, entry, message):
    path = _tampered(tmp_path, trained, standardization=lambda _old: entry)
    with pytest.raises(UsageError, match=message) as info:
        checkpoint.read_checkpoint(path)
    assert str(path) in str(info.value)
