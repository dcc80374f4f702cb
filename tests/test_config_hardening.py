"""Config validation against what the fuzzer and a newcomer found (issue 7).

Every bad config is a usage error (exit 2) whose message names the file and the
key; never a raw Python or torch exception.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nncli.core.model.build import build_model
from nncli.core.model.config import (
    MAX_CONFIG_BYTES,
    RESERVED_NAMES,
    parse_config,
    toml_value,
)
from nncli.core.model.config import toml_string as quote
from nncli.core.model.spec import LayerSpec, ModelSpec, module_names
from nncli.errors import UsageError
from nncli.limits import MAX_SIZE


def write(tmp_path: Path, text: str, name: str = "model.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def usage_error(cli, command: str, path: str, *args: str) -> str:
    out = cli(command, "--config", path, *args)
    assert out.exit_code == 2, (out.exit_code, out.stderr)
    assert out.stderr.startswith(f"Error: config {path}: "), out.stderr
    assert "Traceback" not in out.stderr
    assert out.stdout == ""
    return out.stderr


# ----------------------------------------------------------- 12: duplicate names


@pytest.mark.parametrize(
    ("layers", "fragments"),
    [
        # two given names
        (
            [{"name": "hidden"}, {}, {"name": "hidden"}],
            ["layers[3].name", "'hidden' is already the name of layers[1]"],
        ),
        # a given name that is another layer's automatic one, before and after it
        ([{}, {"name": "linear1"}], ["layers[2].name", "automatic name of layers[1]"]),
        ([{"name": "linear2"}, {}], ["layers[1].name", "automatic name of layers[2]"]),
        # ... or the automatic name of another layer's activation
        (
            [{"activation": "relu"}, {"name": "relu1"}],
            ["layers[2].name", "'relu1' is already the automatic name of layers[1]'s activation"],
        ),
    ],
)
def test_duplicate_layer_names_are_refused_naming_both_layers(
    cli, tmp_path: Path, layers: list[dict[str, str]], fragments: list[str]
) -> None:
    lines = ["input_features = 3"]
    for layer in layers:
        lines += ["[[layers]]", "out_features = 2"]
        lines += [f"{key} = {json.dumps(value)}" for key, value in layer.items()]
    path = write(tmp_path, "\n".join(lines) + "\n")
    for command in ("summary", "run"):
        stderr = usage_error(cli, command, path)
        for fragment in fragments:
            assert fragment in stderr


def test_automatic_names_are_unchanged_and_unique() -> None:
    spec = parse_config(
        "input_features = 3\n"
        + "[[layers]]\nout_features = 2\nactivation = 'relu6'\n"
        + "[[layers]]\nout_features = 2\nname = 'head'\nactivation = 'tanh'\n"
    )
    assert module_names(spec) == [("linear1", "relu61"), ("head", "tanh2")]


# ----------------------------------------------------------- 22: reserved names


@pytest.mark.parametrize(
    "name", ["train", "forward", "to", "cuda", "eval", "training", "_modules", "__init__"]
)
def test_a_layer_named_after_a_module_attribute_is_a_usage_error(
    cli, tmp_path: Path, name: str
) -> None:
    path = write(tmp_path, f"input_features = 3\n[[layers]]\nout_features = 2\nname = '{name}'\n")
    for command in ("summary", "run"):
        stderr = usage_error(cli, command, path)
        assert f"layers[1].name: {name!r} is reserved" in stderr
        assert "KeyError" not in stderr


def test_reserved_names_cover_the_container_the_model_is_built_in() -> None:
    """The static list (config parsing imports no torch) against the real attributes."""
    from torch import nn

    attributes = {a for a in dir(nn.Sequential()) if a.isidentifier()}
    public = {a for a in attributes if not a.startswith("_")}
    assert public <= RESERVED_NAMES, sorted(public - RESERVED_NAMES)
    # Everything else the container has starts with "_", which is reserved as a rule.
    assert all(a.startswith("_") for a in attributes - RESERVED_NAMES)


def test_build_model_checks_the_real_container_too() -> None:
    """A name the static list misses (a newer torch's attribute) is still a usage error."""
    spec = ModelSpec(3, (LayerSpec(2, name="train"),), source="x.toml")
    with pytest.raises(UsageError, match=r"config x.toml: layer name 'train' is reserved"):
        build_model(spec, meta=True)


def test_config_parsing_imports_no_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from nncli.core.model.config import load_config; "
        "load_config('deep_tanh'); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------- 23: deep nesting


@pytest.mark.parametrize("depth", [200, 5000])
@pytest.mark.parametrize("key", ["nested", "name"])
def test_deeply_nested_arrays_are_a_usage_error(cli, tmp_path: Path, depth: int, key: str) -> None:
    nested = "[" * depth + "1" + "]" * depth
    path = write(tmp_path, f"{key} = {nested}\ninput_features = 3\n[[layers]]\nout_features = 2\n")
    stderr = usage_error(cli, "summary", path)
    assert "RecursionError" not in stderr
    assert len(stderr) < 400  # the value is quoted short, never in full


def test_deep_inline_tables_are_a_usage_error(tmp_path: Path) -> None:
    nested = "{a = " * 5000 + "1" + "}" * 5000
    with pytest.raises(UsageError, match="nested too deeply"):
        parse_config(f"x = {nested}\n", "deep.toml")


# ----------------------------------------------------------- 26: integer bounds


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            "input_features = 3\n[[layers]]\nout_features = 18446744073709551616\n",
            ["layers[1].out_features", "must be at most 2,147,483,647"],
        ),
        (
            "input_features = 9223372036854775807\n[[layers]]\nout_features = 2\n",
            ["input_features", "must be at most 2,147,483,647"],
        ),
        (
            f"input_features = {10**4000}\n[[layers]]\nout_features = 2\n",
            ["input_features", "a 4001-digit number"],
        ),
        # every size in bounds, but the weight is 2**62 values: 2**64 bytes
        (
            f"input_features = {MAX_SIZE}\n[[layers]]\nout_features = {MAX_SIZE}\n",
            ["layers[1]: its weight would be", "more than torch can address"],
        ),
    ],
)
def test_sizes_are_bounded_before_torch_sees_them(
    cli, tmp_path: Path, text: str, fragments: list[str]
) -> None:
    path = write(tmp_path, text)
    for command in ("summary", "run"):
        stderr = usage_error(cli, command, path)
        for fragment in fragments:
            assert fragment in stderr
        assert "overflow" not in stderr.lower()


def test_the_largest_addressable_weight_is_still_summarised(cli, tmp_path: Path) -> None:
    """2**30 × (2**31 - 1) float32 values are 2**63 - 2**32 bytes: torch's meta device
    takes them, so the bound refuses only what torch itself cannot represent."""
    import torch

    torch.empty(MAX_SIZE, 2**30, device="meta")  # the reference: torch accepts it
    with pytest.raises(RuntimeError, match="overflow"):
        torch.empty(2**31, 2**30, device="meta")  # ... and not one row more
    path = write(tmp_path, f"input_features = {2**30}\n[[layers]]\nout_features = {MAX_SIZE}\n")
    out = cli("summary", "--config", path, "--batch", "1", "--json")
    assert out.exit_code == 0, out.stderr
    assert out.json()["total_params"] == 2**30 * MAX_SIZE + MAX_SIZE


def test_batch_times_features_is_bounded(cli, tmp_path: Path) -> None:
    path = write(tmp_path, f"input_features = {MAX_SIZE}\n[[layers]]\nout_features = 1\n")
    stderr = usage_error(cli, "summary", path, "--batch", str(MAX_SIZE))
    assert "input_features: its input (batch × input_features) would be" in stderr


# ----------------------------------------------------------- 31: empty --config


@pytest.mark.parametrize("value", ["", "  "])
@pytest.mark.parametrize("command", ["summary", "run"])
def test_an_empty_config_is_a_usage_error(cli, command: str, value: str) -> None:
    out = cli(command, "--config", value)
    assert out.exit_code == 2, out.stderr
    assert f"Error: config {value!r}: empty" in out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize(
    ("ref", "fragment"),
    [
        ("x" * 300, "cannot be read (File name too long)"),
        ("x" * 300 + ".toml", "cannot be read (File name too long)"),
        ("/dev/null", "not a regular file"),
        ("a\x00b", "no such file"),
    ],
)
def test_odd_config_paths_are_usage_errors(cli, ref: str, fragment: str) -> None:
    out = cli("summary", "--config", ref)
    assert out.exit_code == 2, out.stderr
    assert out.stderr.startswith("Error: config ")
    assert fragment in out.stderr


def test_a_huge_file_is_refused_before_it_is_read(cli, tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    with path.open("wb") as f:
        f.truncate(MAX_CONFIG_BYTES + 1)  # sparse: costs no disk
    stderr = usage_error(cli, "summary", str(path))
    assert "is larger than a model config can be (16.00 MiB)" in stderr


# ----------------------------------------------------------- odd values, short messages


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ('name = "a\\nb"\n', ["name: must be a one-line printable string"]),
        ("name = ''\n", ["name: must be a one-line printable string"]),
        ('name = "x\\u001b[31m"\n', ["name: must be a one-line printable string"]),
        ("description = 3\n", ["description: must be a string, got 3"]),
    ],
)
def test_model_name_is_one_printable_line(text: str, fragments: list[str]) -> None:
    with pytest.raises(UsageError) as err:
        parse_config(text + "input_features = 3\n[[layers]]\nout_features = 2\n", "m.toml")
    for fragment in fragments:
        assert fragment in err.value.message


@pytest.mark.parametrize(
    ("layer", "where"),
    [
        (f"activation = '{'x' * 100_000}'", "layers[1].activation: unknown activation"),
        (f"init = '{'x' * 100_000}'", "layers[1].init: unknown init"),
        (f"{'k' * 100_000} = 1", "layers[1]: unknown key"),
        (f"init = 'xavier_normal'\ninit_args = {{ {'g' * 100_000} = 1 }}", "does not apply"),
        (f"init = 'xavier_normal'\ninit_args = {{ gain = '{'g' * 100_000}' }}", "gain"),
        ("init = 'xavier_normal'\ninit_args = { gain = [[[[[1]]]]] }", "init_args.gain"),
        ("init = 'xavier_normal'\ninit_args = [1]", "init_args: must be a table"),
        (f"name = '{'n' * 100_000}!'", "layers[1].name: must be a Python identifier"),
    ],
)
def test_huge_values_give_short_messages(layer: str, where: str) -> None:
    text = f"input_features = 3\n[[layers]]\nout_features = 2\n{layer}\n"
    with pytest.raises(UsageError) as err:
        parse_config(text, "m.toml")
    assert where in str(err.value)
    assert len(str(err.value)) < 400


# ----------------------------------------------------------- fuzz: ModelSpec or UsageError

KEYS = ["name", "input_features", "layers", "description", "out_features", "activation"]
KEYS += ["init", "init_args", "bias", "gain", "mode", "nonlinearity", "a", "std", "value"]
SCALARS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**64]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e39, -1e300, 5e-324, -0.0, 1.7976931348623157e308]),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["relu", "tanh", "xavier_normal", "kaiming_uniform", "fan_out", "train"]),
    st.sampled_from(["constant", "normal", "uniform", "trunc_normal", "sigmoid", "[a]"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=4),
    ),
    max_leaves=12,
)
# A valid config, then a few mutations: a key set to any value (or deleted), at the
# top level or in one layer. Most cases thus reach layer validation; some are valid.
VALID_LAYER = st.fixed_dictionaries(
    {"out_features": st.integers(1, 40)},
    optional={
        "activation": st.sampled_from(["relu", "tanh", "softmax", "relu6", "Swish"]),
        "init": st.sampled_from(["xavier_normal", "kaiming_uniform", "normal"]),
        "name": st.sampled_from(["a", "b", "hidden", "out"]),
        "bias": st.booleans(),
    },
)
VALID_DOCUMENT = st.fixed_dictionaries(
    {
        "input_features": st.integers(1, 40),
        "layers": st.lists(VALID_LAYER, min_size=1, max_size=4),
    },
    optional={
        "name": st.text(st.characters(categories=["L", "N", "P", "S"]), min_size=1, max_size=8),
        "description": st.text(max_size=8),
    },
)
MUTATION = st.tuples(
    st.one_of(st.none(), st.integers(0, 3)),  # None: top level, else that layer
    st.one_of(st.sampled_from(KEYS), st.text(max_size=6)),
    st.one_of(st.just(DELETE := object()), VALUES),
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc = draw(VALID_DOCUMENT)
    layers = doc["layers"]
    # Top-level mutations last: one may replace or delete "layers" itself.
    mutations = sorted(draw(st.lists(MUTATION, max_size=3)), key=lambda m: m[0] is None)
    for where, key, value in mutations:
        target = doc if where is None else layers[where % len(layers)]
        if value is DELETE:
            target.pop(key, None)
        else:
            target[key] = value
    return doc


DOCUMENT = st.one_of(documents(), VALUES.filter(lambda v: isinstance(v, dict)))


def toml_document(doc: dict[str, Any]) -> str:
    lines = []
    layers = doc.get("layers")
    for key, value in doc.items():
        if key != "layers" or not (
            isinstance(layers, list) and all(isinstance(x, dict) for x in layers)
        ):
            lines.append(f"{quote(key)} = {toml_value(value)}")
    if isinstance(layers, list) and all(isinstance(x, dict) for x in layers):
        for layer in layers:
            lines.append("[[layers]]")
            lines += [f"{quote(k)} = {toml_value(v)}" for k, v in layer.items()]
    return "\n".join(lines) + "\n"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENT)
def test_any_toml_document_is_a_model_spec_or_a_usage_error(doc: dict[str, Any]) -> None:
    text = toml_document(doc)
    try:
        spec = parse_config(text, "fuzz.toml")
    except UsageError as exc:
        assert exc.message.startswith("config fuzz.toml: "), exc.message
        assert len(exc.message) < 600, exc.message
        return
    assert isinstance(spec, ModelSpec)
    assert 1 <= spec.input_features <= MAX_SIZE
    assert all(1 <= layer.out_features <= MAX_SIZE for layer in spec.layers)
    names = [n for pair in module_names(spec) for n in pair if n]
    assert len(names) == len(set(names))
    assert not set(names) & RESERVED_NAMES
    # What validation accepts, torch accepts: the model builds (on the meta device).
    built = build_model(spec, meta=True)
    assert [n for n, _ in built.model.named_children()] == names
    assert sum(p.numel() for p in built.model.parameters()) == spec.linear_params()


def test_an_init_that_overflows_at_these_fans_names_the_layer(cli, tmp_path) -> None:
    """gain 1e38 is fine for a 4096-wide layer but not a 1×1 one: checked at parse time,
    where the fans are known, so the message names the file and the layer's key."""
    layer = 'init = "xavier_uniform"\ninit_args = {gain = 1e38}\n'
    wide = tmp_path / "wide.toml"
    wide.write_text(f"input_features = 4096\n[[layers]]\nout_features = 4096\n{layer}")
    narrow = tmp_path / "narrow.toml"
    narrow.write_text(f"input_features = 1\n[[layers]]\nout_features = 1\n{layer}")
    assert cli("summary", "--config", str(wide)).exit_code == 0
    out = cli("summary", "--config", str(narrow))
    assert out.exit_code == 2
    assert out.stderr.startswith(f"Error: config {narrow}: layers[1].init_args: ")
    assert "exceeds float32's largest number" in out.stderr
