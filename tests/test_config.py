"""Model configs: the shipped ones, and every error path (exit 2, file and key named)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nncli.core.activation.activations import activation_names
from nncli.core.model.build import build_model
from nncli.core.model.config import bundled_configs, load_config, parse_config
from nncli.core.model.spec import module_names
from nncli.errors import UsageError

REPO = Path(__file__).resolve().parents[1]


def test_top_level_configs_folder_is_the_bundled_one() -> None:
    shipped = sorted(p.stem for p in (REPO / "configs").glob("*.toml"))
    assert shipped == bundled_configs()
    assert {"demo", "mnist_mlp", "deep_tanh", "wide_10b"} <= set(shipped)


def test_demo_is_exactly_the_tutorials_model() -> None:
    spec = load_config(str(REPO / "configs" / "demo.toml"))
    assert spec.input_features == 3
    layers = [(layer.out_features, layer.activation, layer.init) for layer in spec.layers]
    assert layers == [
        (3, "sigmoid", "xavier_normal"),
        (2, "relu", "kaiming_normal"),
        (2, "softmax", None),
    ]
    assert all(layer.bias for layer in spec.layers)
    assert spec.linear_params() == 26


def test_default_config_is_the_demo() -> None:
    assert load_config(None) == load_config("demo")


def test_demo_activations_are_modules_and_softmax_uses_last_dim() -> None:
    from torch import nn

    model = build_model(load_config("demo")).model
    kinds = [type(m) for m in model.children()]
    assert kinds == [nn.Linear, nn.Sigmoid, nn.Linear, nn.ReLU, nn.Linear, nn.Softmax]
    softmax = next(m for m in model.children() if isinstance(m, nn.Softmax))
    assert softmax.dim == -1


def write(tmp_path: Path, text: str, name: str = "model.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


GOOD_LAYER = "[[layers]]\nout_features = 2\n"


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("input_features = 3\n[[layers]\n", ["malformed TOML", "line 2"]),
        ("input_features = 0\n" + GOOD_LAYER, ["input_features", "must be an integer > 0, got 0"]),
        (
            "input_features = 3\n[[layers]]\nout_features = -4\n",
            ["layers[1].out_features", "got -4"],
        ),
        ("input_features = true\n" + GOOD_LAYER, ["input_features", "got True"]),
        ("input_features = 2.5\n" + GOOD_LAYER, ["input_features", "got 2.5"]),
        (GOOD_LAYER, ["missing required key 'input_features'"]),
        ("input_features = 3\n", ["need at least one [[layers]] table"]),
        ("input_features = 3\n[[layers]]\nactivation = 'relu'\n", ["layers[1]", "'out_features'"]),
        (
            "input_features = 3\n[[layers]]\nout_features = 2\nactivation = 'rellu'\n",
            ["layers[1].activation", "unknown activation 'rellu'", "did you mean relu?"],
        ),
        (
            "input_features = 3\n[[layers]]\nout_features = 2\ninit = 'xavier_norml'\n",
            ["layers[1].init", "unknown init scheme 'xavier_norml'", "did you mean xavier_normal?"],
        ),
        (
            "input_features = 3\n[[layers]]\nout_features = 2\ninit = 'xavier'\n",
            ["layers[1].init", "family", "xavier_uniform or xavier_normal"],
        ),
        (
            "input_features = 3\ninput_featres = 4\n" + GOOD_LAYER,
            ["top level", "unknown key 'input_featres'", "did you mean input_features?"],
        ),
        (
            "input_features = 3\n[[layers]]\nout_features = 2\nactivaton = 'relu'\n",
            ["layers[1]", "unknown key 'activaton'", "did you mean activation?"],
        ),
        (
            "input_features = 3\n[[layers]]\nout_features = 2\nbias = 'yes'\n",
            ["layers[1].bias", "must be true or false"],
        ),
        (
            "input_features = 3\n[[layers]]\nout_features = 2\ninit_args = { gain = 2.0 }\n",
            ["layers[1].init_args", "without an 'init'"],
        ),
        (
            "input_features = 3\n[[layers]]\nout_features = 2\ninit = 'xavier_normal'\n"
            "init_args = { mode = 'fan_in' }\n",
            ["layers[1].init_args", "'mode' does not apply to init scheme xavier_normal"],
        ),
        (
            "input_features = 3\n" + GOOD_LAYER + "[[layers]]\nout_features = 0\n",
            ["layers[2].out_features"],
        ),
    ],
)
def test_config_errors_exit_2_and_name_file_and_key(
    cli, tmp_path: Path, text: str, fragments: list[str]
) -> None:
    path = write(tmp_path, text)
    for command in ("summary", "run"):
        out = cli(command, "--config", path)
        assert out.exit_code == 2, out.stderr
        assert out.stderr.startswith(f"Error: config {path}: ")
        for fragment in fragments:
            assert fragment in out.stderr
        assert "Traceback" not in out.stderr
        assert out.stdout == ""


def test_missing_file_and_unknown_bundled_name(cli, tmp_path: Path) -> None:
    out = cli("summary", "--config", str(tmp_path / "nope.toml"))
    assert out.exit_code == 2
    assert f"Error: config {tmp_path / 'nope.toml'}: no such file" in out.stderr
    out = cli("summary", "--config", "mnist")
    assert out.exit_code == 2
    assert "not a bundled config" in out.stderr
    assert "did you mean mnist_mlp?" in out.stderr


def test_a_directory_is_not_a_config(cli, tmp_path: Path) -> None:
    out = cli("summary", "--config", str(tmp_path))
    assert out.exit_code == 2
    assert f"config {tmp_path}: not a regular file" in out.stderr


def test_optional_keys_take_their_defaults(tmp_path: Path) -> None:
    spec = parse_config("input_features = 4\n[[layers]]\nout_features = 3\n", "x.toml")
    (layer,) = spec.layers
    assert (layer.activation, layer.init, layer.bias, layer.name) == (None, None, True, None)
    assert spec.name == "x"


def test_bias_false_and_aliases(tmp_path: Path) -> None:
    spec = parse_config(
        "input_features = 4\n[[layers]]\nout_features = 3\nbias = false\nactivation = 'Swish'\n"
    )
    assert spec.layers[0].activation == "silu"
    assert spec.linear_params() == 12
    model = build_model(spec).model
    assert sum(p.numel() for p in model.parameters()) == 12


layer_strategy = st.fixed_dictionaries(
    {"out_features": st.integers(1, 12), "bias": st.booleans()},
    optional={"activation": st.sampled_from(activation_names())},
)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.lists(layer_strategy, min_size=1, max_size=5))
def test_any_valid_config_builds_with_the_counted_parameters(
    inputs: int, layers: list[dict]
) -> None:
    lines = [f"input_features = {inputs}"]
    for layer in layers:
        lines.append("[[layers]]")
        for key, value in layer.items():
            lines.append(
                f"{key} = {str(value).lower() if isinstance(value, bool) else repr(value)}"
            )
    spec = parse_config("\n".join(lines))
    built = build_model(spec, meta=True)
    assert sum(p.numel() for p in built.model.parameters()) == spec.linear_params()
    names = [n for pair in module_names(spec) for n in pair if n]
    assert names == [n for n, _ in built.model.named_children()]


@given(st.text(max_size=200))
@settings(max_examples=60)
def test_arbitrary_text_is_a_config_or_a_usage_error(text: str) -> None:
    try:
        parse_config(text)
    except UsageError as exc:
        assert exc.message.startswith("config <string>: ")
