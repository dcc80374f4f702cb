"""An in-process fuzz of the whole CLI: generated argument lists, numbers, names,
TOML configs and CSV/NPY files, through CliRunner, with a fixed seed.

Whatever the input, the contract holds:

- the exit code is 0, 1 or 2;
- a failure says ``Error: ...`` on stderr, never a traceback, and never the
  catch-all handler's ``Error: SomeType: ...`` (that is always a missing validation);
- with ``--json``, stdout is exactly one JSON document with ``schema_version``
  (or nothing at all when the run failed before printing);
- a failed run leaves no file behind.

Each command is fuzzed on its own (a parametrised test per command, so every
command gets its share and pytest-xdist can spread them over workers).
``NNCLI_FUZZ_EXAMPLES`` sets the number of cases, spread evenly over the
commands (default 270, 30 each; CI runs the default).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nncli.cli import app
from nncli.core.activation.activations import ACTIVATIONS
from nncli.core.init.inits import INIT_SCHEMES as SCHEMES
from nncli.core.loss.losses import ALIASES as LOSS_ALIASES
from nncli.core.loss.losses import LOSSES
from nncli.core.model.config import toml_value

EXAMPLES = int(os.environ.get("NNCLI_FUZZ_EXAMPLES", "270"))
CATCH_ALL = "run with --debug for the traceback"  # only the catch-all handler says this
BASE_ENV = {
    "NO_COLOR": "1",
    "COLUMNS": "80",
    "NNCLI_DEVICE": None,
    "NNCLI_LANG": None,
    "NNCLI_DEBUG": None,
    # A small budget: huge sizes are refused quickly instead of allocating.
    "NNCLI_MEMORY_LIMIT": str(256 * 2**20),
}

# ------------------------------------------------------------------ values

WEIRD = [
    "", " ", "-", "--", "0x10", "1_000", "1e", "abc", "[a]", "[bold]x[/bold]", "²", "١",
    "None", "true", "nan", "NaN", "inf", "-inf", "+inf", "-0", "-0.0", "1e300", "-1e300",
    "1e-300", "5e-324", "1e39", "-1e39", "1.7976931348623157e308", "2147483648",
    "9223372036854775807", "18446744073709551616", "-9223372036854775809", "1e3",
]  # fmt: skip


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` four times in five: enough bad values to find bugs, enough good ones to
    get past the option parser and the first check into the rest of the code."""
    return st.integers(0, 4).flatmap(lambda i: bad if i == 0 else good)


WEIRD_INTS = ["0", "-1", "-0", "1e3", "abc", "", "2147483648", "9223372036854775807",
              "18446744073709551616", "-18446744073709551617", "²"]  # fmt: skip
SMALL_INTS = st.integers(-3, 12).map(str)
# Mostly values that parse, so the cases get past the option parser into the code.
INTS = mostly(st.integers(0, 12).map(str), st.one_of(SMALL_INTS, st.sampled_from(WEIRD_INTS)))
GOOD_SIZES = st.sampled_from(["1", "2", "3", "5", "7", "16", "64"])
SIZES = mostly(GOOD_SIZES, st.one_of(st.sampled_from(["0", "-1", "513", "2147483647"]), INTS))
SMALL_FLOATS = st.floats(-10, 10).map(lambda v: f"{v:.3g}")
FLOATS = st.floats(allow_nan=True, allow_infinity=True).map(repr)
NUMBERS = mostly(st.one_of(SMALL_FLOATS, SMALL_INTS), st.one_of(FLOATS, st.sampled_from(WEIRD)))
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
KNOWN_ACTIVATIONS = st.sampled_from(sorted(ACTIVATIONS))
ACTIVATION_NAMES = mostly(KNOWN_ACTIVATIONS, TEXT)
KNOWN_SCHEMES = st.sampled_from([*sorted(SCHEMES), "xavier", "he"])
SCHEME_NAMES = mostly(KNOWN_SCHEMES, TEXT)
DEVICES = st.sampled_from(["cpu", "auto", "CPU", "cuda", "cuda:0", "mps", "tpu", "cpu:1", ""])


SCALARS = st.one_of(
    st.integers(-5, 40),
    st.sampled_from([0, -1, 2**31, 2**63 - 1, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    TEXT,
    st.sampled_from(sorted(ACTIVATIONS) + sorted(SCHEMES) + ["train", "forward", "to", "x"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
LAYER_KEYS = ["out_features", "activation", "init", "init_args", "bias", "name"]
LAYER_TYPES = ["conv1d", "conv2d", "maxpool2d", "avgpool2d", "adaptiveavgpool2d", "batchnorm1d",
               "batchnorm2d", "layernorm", "dropout", "flatten", "linear"]  # fmt: skip
CNN_KEYS = ["out_channels", "kernel_size", "stride", "padding", "output_size", "p", "in_channels"]
INIT_ARG_KEYS = ["gain", "a", "b", "mean", "std", "low", "high", "value", "mode", "nonlinearity"]


@st.composite
def layer_tables(draw: st.DrawFn) -> dict[str, Any]:
    layer: dict[str, Any] = {"out_features": draw(st.integers(1, 6) | st.integers(-1, 6) | SCALARS)}
    if draw(st.integers(0, 2)) == 0:  # a layer type with torch's constructor arguments
        layer["type"] = draw(st.sampled_from(LAYER_TYPES) | SCALARS)
        for key in draw(st.lists(st.sampled_from(CNN_KEYS), max_size=3, unique=True)):
            small = st.integers(1, 4) | st.lists(st.integers(0, 4), min_size=2, max_size=2)
            layer[key] = draw(small | SCALARS)
        if draw(st.booleans()):
            del layer["out_features"]
    for key in draw(st.lists(st.sampled_from([*LAYER_KEYS, "bogus"]), max_size=4, unique=True)):
        if key == "init_args":
            layer[key] = draw(st.dictionaries(st.sampled_from(INIT_ARG_KEYS), SCALARS, max_size=2))
        elif key == "activation":
            layer[key] = draw(st.one_of(st.sampled_from(sorted(ACTIVATIONS)), SCALARS))
        elif key == "init":
            layer[key] = draw(st.one_of(st.sampled_from(sorted(SCHEMES)), SCALARS))
        else:
            layer[key] = draw(VALUES)
    return layer


@st.composite
def toml_configs(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:  # now and then, text that is barely TOML
        return draw(st.sampled_from(["", "x =", "[[layers]]", "a = " + "[" * 300 + "]" * 300]))
    if draw(st.integers(0, 2)) == 0:  # an image-shaped input for the CNN layer types
        shape = draw(st.lists(st.integers(1, 9), min_size=1, max_size=3) | VALUES)
        lines = [f"input_shape = {toml_value(shape)}"]
    else:
        features = draw(st.integers(1, 6) | st.integers(-1, 6) | SCALARS)
        lines = [f"input_features = {toml_value(features)}"]
    if draw(st.booleans()):
        lines.append(f"name = {toml_value(draw(TEXT | SCALARS))}")
    if draw(st.integers(0, 5)) == 0:
        lines.append(f"{toml_value(draw(TEXT))} = {toml_value(draw(VALUES))}")
    for layer in draw(
        st.lists(layer_tables(), min_size=draw(st.sampled_from([0, 1, 1])), max_size=4)
    ):
        lines.append("[[layers]]")
        lines += [f"{toml_value(k)} = {toml_value(v)}" for k, v in layer.items()]
    return "\n".join(lines) + "\n"


CELLS = st.one_of(
    st.floats(-10, 10).map(lambda v: f"{v:.3f}"),
    st.sampled_from(["nan", "inf", "1e300", "-1e39", "x", "", " 1", "1,5", "0x1", "1e-320"]),
)


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    columns = draw(st.integers(1, 5))
    rows = draw(st.lists(st.lists(CELLS, min_size=columns, max_size=columns), max_size=6))
    if draw(st.integers(0, 4)) == 0 and rows:  # a ragged row
        rows[-1] = rows[-1][:-1]
    header = ["a", "b", "c", "d", "e"][:columns] if draw(st.booleans()) else None
    lines = ([",".join(header)] if header else []) + [",".join(r) for r in rows]
    return "\n".join(lines) + ("\n" if draw(st.booleans()) else "")


@st.composite
def npy_payloads(draw: st.DrawFn) -> bytes | np.ndarray:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.sampled_from([b"", b"\x93NUMPY", b"PK\x03\x04junk", b"not numpy at all"]))
    dtype = draw(st.sampled_from(["float32", "float64", "int64", "bool", "complex64", "<U3"]))
    shape = draw(st.lists(st.integers(0, 4), min_size=0, max_size=3))
    values = draw(st.sampled_from([0.5, np.nan, np.inf, 1e300, -2.0]))
    if dtype == "<U3":
        return np.full(shape, "ab", dtype=dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.full(shape, values).astype(dtype)


# ------------------------------------------------------------------ commands


class Files:
    """Input files for one example, in a folder of their own."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.count = 0

    def path(self, suffix: str) -> Path:
        self.count += 1
        return self.root / f"in{self.count}{suffix}"

    def config(self, text: str, name: str = "") -> str:
        path = self.root / f"{name or f'c{self.count}'}.toml"
        self.count += 1
        path.write_text(text, encoding="utf-8")
        return str(path)

    def csv(self, text: str) -> str:
        path = self.path(".csv")
        path.write_text(text, encoding="utf-8")
        return str(path)

    def npy(self, payload: bytes | np.ndarray) -> str:
        path = self.path(".npy")
        if isinstance(payload, bytes):
            path.write_bytes(payload)
        else:
            with path.open("wb") as f:
                np.save(f, payload, allow_pickle=False)
        return str(path)


Argv = Callable[[Files, Path], list[str]]


def maybe(draw: st.DrawFn, *options: list[str]) -> list[str]:
    """Each option group included with probability 1/2."""
    out: list[str] = []
    for group in options:
        if draw(st.booleans()):
            out += group
    return out


def config_arg(draw: st.DrawFn, files: Files) -> list[str]:
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return []
    if choice == 1:
        return ["--config", draw(st.sampled_from(["demo", "mnist_mlp", "deep_tanh", "wide_10b"]))]
    if choice == 2:
        return ["--config", draw(st.sampled_from(["", "nope", "[a]", "/nonexistent.toml", "."]))]
    name = draw(st.sampled_from(["", "[a]", "x y"]))
    return ["--config", files.config(draw(toml_configs()), name)]


MODELS = Path(__file__).parent / "models"
GOOD_MODELS = [
    (f"{MODELS / 'zoo.py'}:LeNet", "1,32,32"),
    (f"{MODELS / 'zoo.py'}:tiny_resnet", "3,32,32"),
    (f"{MODELS / 'zoo.py'}:ReusedTwice", "6"),
    (f"{MODELS / 'zoo.py'}:LSTMNet", "7"),
    (f"{MODELS / 'zoo.py'}:DictOutput", "6"),
    (f"{MODELS / 'zoo.py'}:DictInput", "image=3,6,6"),
]
BAD_MODELS = [
    f"{MODELS / 'zoo.py'}:Nope",
    f"{MODELS / 'zoo.py'}:zoo",
    f"{MODELS / 'raises_on_import.py'}:Net",
    f"{MODELS / 'user_nets.py'}:make_list",
    f"{MODELS / 'user_nets.py'}:ItemNet",
    f"{MODELS / 'zoo.py'}",
    "missing.py:Net",
    "nncli.nope:Net",
    "json:loads",
    ":",
    "",
    "[a]:b",
]
INPUT_SIZES = mostly(
    st.sampled_from(["1,32,32", "3,32,32", "6", "7", "3,8,8", "image=3,6,6", "extra=5"]),
    st.sampled_from(["", "0", "-1", "a", "3,,3", "x=", "=3", "2147483647,2147483647", "1e3"]),
)
DTYPES = st.sampled_from(["float32", "long", "float16", "bfloat16", "bool", "int8", "", "x=long"])
KWARGS = st.sampled_from(['{"num_classes": 3}', "{}", "[]", "{", '{"nope": 1}', "null", "1"])
COUNTS = st.sampled_from(["25M", "1.5B", "1e6", "10", "0", "-1", "1.5", "abc", "inf", "1e400"])
MEMORY = st.sampled_from(["2GiB", "500MB", "1e6", "1K", "0", "-5", "2XB", "nan", "1e30"])


def model_arg(draw: st.DrawFn) -> list[str]:
    """--model with its inputs: a zoo model that works, or a spec or option that does not."""
    if draw(st.integers(0, 3)) == 0:
        args = ["--model", draw(st.sampled_from(BAD_MODELS))]
        return args + maybe(draw, ["--input-size", draw(INPUT_SIZES)])
    spec, size = draw(st.sampled_from(GOOD_MODELS))
    args = ["--model", spec]
    sizes = draw(st.lists(INPUT_SIZES, max_size=2)) if draw(st.integers(0, 3)) == 0 else [size]
    for value in sizes:
        args += ["--input-size", value]
    if "LSTM" in spec:
        args += ["--dtype", "long"]
    return args + maybe(
        draw,
        ["--dtype", draw(DTYPES)],
        ["--model-kwargs", draw(KWARGS)],
        ["--vocab", draw(INTS)],
        ["--batch", draw(SIZES)],
    )


@st.composite
def summary_args(draw: st.DrawFn, files: Files, out: Path) -> list[str]:
    source = model_arg(draw) if draw(st.integers(0, 2)) == 0 else config_arg(draw, files)
    return [
        "summary",
        *source,
        *maybe(draw, ["--batch", draw(st.one_of(SIZES, INTS))], ["--classic"]),
        *maybe(draw, ["--device", draw(DEVICES)]),
        *maybe(
            draw,
            ["--depth", draw(INTS)],
            [draw(st.sampled_from(["--functional", "--no-functional"]))],
        ),
        *maybe(draw, ["--max-params", draw(COUNTS)], ["--max-memory", draw(MEMORY)]),
    ]


@st.composite
def run_args(draw: st.DrawFn, files: Files, out: Path) -> list[str]:
    if draw(st.integers(0, 3)) == 0:
        return ["run", *model_arg(draw), *maybe(draw, ["--seed", draw(INTS)])]
    args = ["run", *config_arg(draw, files)]
    args += maybe(draw, ["--seed", draw(INTS)], ["--params"])
    source = draw(st.integers(0, 4))
    if source == 0 or draw(st.integers(0, 9)) == 0:
        args += maybe(draw, ["--batch", draw(SIZES)])
    if source == 1:
        args += ["--input", files.csv(draw(csv_texts()))]
    elif source == 2:
        args += ["--input", files.npy(draw(npy_payloads()))]
    elif source == 3:
        args += ["--input", draw(st.sampled_from(["", "missing.csv", "x.txt", "."]))]
    return args


@st.composite
def plot_args(draw: st.DrawFn, files: Files, out: Path) -> list[str]:
    names = draw(st.lists(ACTIVATION_NAMES, min_size=1, max_size=3))
    output = str(out / draw(st.sampled_from(["p.png", "p.svg", "p.pdf", "p.jpg", "p", "[p].png"])))
    return [
        "plot",
        *names,
        *maybe(
            draw,
            ["--range", draw(NUMBERS), draw(NUMBERS)],
            ["-n", draw(st.one_of(st.sampled_from(["2", "3", "50", "1000", "20000000"]), INTS))],
            ["--saturation", draw(NUMBERS)],
            ["--negative-slope", draw(NUMBERS)],
            ["--lang", draw(st.sampled_from(["en", "zh", "fr", ""]))],
            ["--dpi", draw(st.one_of(st.sampled_from(["10", "72", "100000"]), INTS))],
            ["-o", output],
        ),
        *maybe(draw, ["--info"], ["--list"]),
    ]


@st.composite
def activations_args(draw: st.DrawFn, files: Files, out: Path) -> list[str]:
    return ["activations", *maybe(draw, ["--help"])]


INIT_FLOATS = ["--value", "--mean", "--std", "--low", "--high", "--a", "--b", "--gain"]


@st.composite
def init_stats_args(draw: st.DrawFn, files: Files, out: Path) -> list[str]:
    schemes = draw(st.lists(SCHEME_NAMES, min_size=1, max_size=2))
    args = ["init-stats", *schemes]
    args += maybe(
        draw,
        ["--fan-in", draw(SIZES)],
        ["--fan-out", draw(SIZES)],
        ["--seed", draw(INTS)],
    )
    # One scheme option now and then: most combinations do not apply, by design.
    if draw(st.integers(0, 2)) == 0:
        flag = draw(st.sampled_from([*INIT_FLOATS, "--mode", "--nonlinearity", "--sparsity"]))
        value = {
            "--mode": st.sampled_from(["fan_in", "fan_out", "both"]),
            "--nonlinearity": ACTIVATION_NAMES,
        }.get(flag, NUMBERS)
        args += [flag, draw(value)]
    if draw(st.booleans()):
        args += ["--depth", draw(st.sampled_from(["1", "3", "20", "20", "0", "-2", "100000"]))]
        args += maybe(
            draw,
            ["--activation", draw(ACTIVATION_NAMES)],
            ["--batch", draw(st.sampled_from(["1", "16", "0", "99999999999"]))],
            ["--plot", str(out / draw(st.sampled_from(["d.png", "d.svg", "d.txt"])))],
        )
    if draw(st.booleans()):
        args += ["--hist", str(out / draw(st.sampled_from(["h.png", "h.pdf", "h.gif"])))]
    return args


KNOWN_LOSSES = st.sampled_from([*sorted(LOSSES), *sorted(LOSS_ALIASES)])
LOSS_NAMES = mostly(KNOWN_LOSSES, TEXT)
LOSS_PARAMS = ["--delta", "--beta", "--pos-weight", "--label-smoothing", "--margin"]


@st.composite
def inline_values(draw: st.DrawFn) -> str:
    """``--pred``/``--target`` text: rows of numbers separated by ';', sometimes broken."""
    columns = draw(st.integers(1, 4))
    cell = mostly(st.sampled_from(["0", "1", "2", "0.2", "0.7", "-1.5", "3"]), CELLS)
    rows = draw(
        st.lists(st.lists(cell, min_size=columns, max_size=columns), min_size=1, max_size=3)
    )
    return ";".join(",".join(row) for row in rows)


def values_arg(draw: st.DrawFn, files: Files) -> str:
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return files.csv(draw(csv_texts()))
    if choice == 1:
        return files.npy(draw(npy_payloads()))
    if choice == 2:
        return draw(st.sampled_from(["", ";", "missing.csv", "x.npy", "[1, 2]"]))
    return draw(inline_values())


@st.composite
def loss_args(draw: st.DrawFn, files: Files, out: Path) -> list[str]:
    args = ["loss", *draw(st.lists(LOSS_NAMES, min_size=1, max_size=2))]
    if draw(st.integers(0, 2)) == 0:  # one loss parameter now and then
        args += [draw(st.sampled_from(LOSS_PARAMS)), draw(NUMBERS)]
    if draw(st.booleans()):  # numbers mode
        args += ["--pred", values_arg(draw, files), "--target", values_arg(draw, files)]
        args += maybe(
            draw,
            ["--reduction", draw(st.sampled_from(["mean", "sum", "none", "max"]))],
            [draw(st.sampled_from(["--pred2", "--var"])), values_arg(draw, files)],
        )
        return args
    output = str(out / draw(st.sampled_from(["l.png", "l.svg", "l.pdf", "l.bmp"])))
    return args + maybe(
        draw,
        ["--target", draw(NUMBERS)],
        ["--through", draw(st.sampled_from(["sigmoid", "softmax", "relu"]))],
        ["--logits"],
        ["--classes", draw(st.one_of(st.sampled_from(["2", "3", "10"]), INTS))],
        ["--range", draw(NUMBERS), draw(NUMBERS)],
        ["-n", draw(st.one_of(st.sampled_from(["2", "50", "500"]), INTS))],
        ["--dtype", draw(st.sampled_from(["float32", "float64", "float16"]))],
        ["-o", output],
    )


@st.composite
def losses_args(draw: st.DrawFn, files: Files, out: Path) -> list[str]:
    return ["losses", *maybe(draw, ["--help"])]


DATASET_NAMES = mostly(
    st.sampled_from(["xor", "circles", "moons", "spiral", "blobs", "plane", "sine"]), TEXT
)


@st.composite
def train_args(draw: st.DrawFn, files: Files, out: Path) -> list[str]:
    """Small runs only (a few samples and epochs): the contract, not the learning."""
    args = ["train"]
    if draw(st.integers(0, 5)) == 0:
        args += [
            "--data",
            draw(
                st.one_of(
                    st.just(files.csv(draw(csv_texts()))), st.just(files.npy(draw(npy_payloads())))
                )
            ),
        ]
    else:
        args.append(draw(DATASET_NAMES))
    args += ["--samples", draw(mostly(st.sampled_from(["80", "100", "120"]), INTS))]
    args += ["--epochs", draw(mostly(st.sampled_from(["1", "2"]), INTS))]
    options = [
        [
            "--hidden",
            draw(
                mostly(
                    st.sampled_from(["2", "4,4", "3"]),
                    st.sampled_from(["", "0", "-1", "4,,4", "a", "2147483648"]),
                )
            ),
        ],
        ["--activation", draw(mostly(st.sampled_from(["tanh", "relu", "sigmoid,relu"]), TEXT))],
        ["--optimizer", draw(st.sampled_from(["sgd", "adam", "momentum,rmsprop", "lbfgs"]))],
        ["--lr", draw(NUMBERS)],
        ["--batch", draw(SIZES)],
        ["--noise", draw(NUMBERS)],
        ["--test-fraction", draw(NUMBERS)],
        ["--features", draw(st.sampled_from(["x,y", "x,y,xy", "z", "", "x,x"]))],
        ["--plot", str(out / draw(st.sampled_from(["t.png", "t.svg", "t.gif"])))],
        ["--save", str(out / draw(st.sampled_from(["m.pt", "m.txt"])))],
    ]
    # A few options per case: each has a bad value now and then, and a run with
    # all of them would almost never get past validation to the training itself.
    for group in draw(st.lists(st.sampled_from(options), max_size=3, unique_by=str)):
        args += group
    return args


@st.composite
def draw_args(draw: st.DrawFn, files: Files, out: Path) -> list[str]:
    names = ["d.png", "d.svg", "d.pdf", "d.mmd", "d.dot", "d.json", "d.gif", "d", "[d].png"]
    args = ["draw"]
    if draw(st.integers(0, 3)) == 0:
        args += [*model_arg(draw), *maybe(draw, ["--depth", draw(INTS)])]
    else:
        args += config_arg(draw, files)
    row = draw(st.lists(NUMBERS, min_size=1, max_size=4))
    return args + maybe(
        draw,
        ["--input", ",".join(row)],
        ["-o", str(out / draw(st.sampled_from(names)))],
        ["--format", draw(st.sampled_from(["png", "svg", "mermaid", "dot", "json", "gif", ""]))],
        ["--seed", draw(INTS)],
        ["--lang", draw(st.sampled_from(["en", "zh", "fr"]))],
        ["--dpi", draw(st.sampled_from(["10", "72", "100000"]))],
    )


# Every command of nncli.cli.COMMANDS (a test checks) and how to make its arguments.
COMMANDS = {
    "train": train_args,
    "loss": loss_args,
    "losses": losses_args,
    "summary": summary_args,
    "run": run_args,
    "plot": plot_args,
    "draw": draw_args,
    "activations": activations_args,
    "init-stats": init_stats_args,
}


PER_COMMAND = max(1, EXAMPLES // len(COMMANDS))


@st.composite
def invocations(
    draw: st.DrawFn, root: Path, command: str
) -> tuple[list[str], dict[str, str | None], Path]:
    folder = Path(tempfile.mkdtemp(dir=root))
    inputs, out = folder / "in", folder / "out"
    inputs.mkdir()
    out.mkdir()
    files = Files(inputs)
    args = draw(COMMANDS[command](files, out))
    if draw(st.booleans()):
        args.append("--json")
    env = dict(BASE_ENV)
    if draw(st.integers(0, 9)) == 0:  # now and then, a bad environment variable
        name = draw(st.sampled_from(["NNCLI_MEMORY_LIMIT", "NNCLI_DEVICE", "NNCLI_LANG"]))
        env[name] = draw(st.sampled_from(["abc", "-5", "²", "2GB", "1.5GiB", "", "cpu", "zh"]))
    return args, env, out


@pytest.fixture(scope="module")
def root() -> Any:
    folder = Path(tempfile.mkdtemp(prefix="nncli-fuzz-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def check_contract(args: list[str], exit_code: int, stdout: str, stderr: str) -> None:
    where = f"nncli {' '.join(repr(a) for a in args)}\n--- stderr:\n{stderr}"
    assert exit_code in (0, 1, 2), where
    assert "Traceback" not in stderr, where
    assert CATCH_ALL not in stderr, where
    if exit_code != 0:
        assert any(line.startswith("Error: ") for line in stderr.splitlines()), where
    if "--json" in args and "--help" not in args:
        if exit_code != 0 and not stdout:
            return
        assert stdout.endswith("\n") and stdout.count("\n") == 1, where
        document = json.loads(stdout)
        assert document["schema_version"] >= 1, where


def test_every_command_of_the_cli_is_fuzzed() -> None:
    from nncli.cli import COMMANDS as CLI_COMMANDS

    assert sorted(COMMANDS) == sorted(CLI_COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
@settings(
    max_examples=PER_COMMAND,
    derandomize=True,  # a fixed seed: CI runs the same cases every time
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_the_cli_contract_holds_for_any_input(
    root: Path, command: str, data: st.DataObject
) -> None:
    args, env, out = data.draw(invocations(root, command))
    here = os.getcwd()
    os.chdir(out)  # default output files (plot's NAME.png) land where they are checked
    try:
        result = CliRunner().invoke(app, args, env=env)
    finally:
        os.chdir(here)
    check_contract(args, result.exit_code, result.stdout, result.stderr)
    written = sorted(p.name for p in out.iterdir())
    if result.exit_code != 0:
        assert written == [], f"nncli {args} failed and left {written}"
    shutil.rmtree(out.parent, ignore_errors=True)


# ------------------------------------------------------------------ checkpoints (--weights)

CHECKPOINT_EXAMPLES = 20


@pytest.fixture(scope="module")
def trained_checkpoint(root: Path) -> bytes:
    """A real checkpoint from ``train --save``, made once: what every case mutates."""
    path = root / "trained.pt"
    args = ["train", "xor", "--samples", "40", "--epochs", "2", "--batch", "8", "--hidden", "3"]
    result = CliRunner().invoke(app, [*args, "--save", str(path)], env=BASE_ENV)
    assert result.exit_code == 0, result.stderr
    return path.read_bytes()


class Hostile:
    """Pickles as ``os.system("touch MARKER")``: it creates the marker if it ever runs."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch '{self.marker}'",))


def rezip(blob: bytes, member: str, content: bytes) -> bytes:
    """``blob`` (a torch.save zip) with one member replaced, CRCs recomputed."""
    import io
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(blob))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for name in source.namelist():
            target.writestr(name, content if name == member else source.read(name))
    return out.getvalue()


def bad_tensor(draw: st.DrawFn, like: Any) -> tuple[Any, bool]:
    """A replacement for a state_dict tensor, and whether it is still a valid weight."""
    import warnings

    import torch

    shape, floating = tuple(like.shape), like.is_floating_point()
    kind = draw(st.sampled_from(["dtype", "shape", "layout", "value", "fine"]))
    if kind == "fine" and floating:  # other float dtypes load into the float32 model
        return like.to(draw(st.sampled_from([torch.float16, torch.bfloat16, torch.float64]))), True
    if kind in {"dtype", "fine"}:
        wrong = [torch.int64, torch.int32, torch.uint8, torch.bool, torch.complex64]
        if not floating:  # batch norm's counter
            wrong = [torch.float32, torch.bool, torch.complex64]
        return torch.zeros(shape, dtype=draw(st.sampled_from(wrong))), False
    if kind == "shape":
        extra = draw(st.sampled_from([(), (1,), (2,)]))
        bad = draw(st.sampled_from([(*shape, *extra), (*shape[::-1], 3), (0,)]))
        return torch.zeros(bad if bad != shape else (*shape, 2), dtype=like.dtype), False
    if kind == "layout":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sparse CSR is beta; quantized is deprecated
            layouts = [
                like.to_sparse,
                lambda: like.reshape(1, -1).to_sparse_csr(),
                lambda: torch.empty(shape, dtype=like.dtype, device="meta"),
                lambda: torch.quantize_per_tensor(like.float(), 0.1, 0, torch.qint8),
            ]
            return draw(st.sampled_from(layouts))(), False
    return draw(st.sampled_from([None, 1, 1.5, "w", [1.0], {"a": like}, (like,)])), False


@st.composite
def checkpoint_files(draw: st.DrawFn, blob: bytes, marker: Path) -> tuple[bytes, bool]:
    """A mutated checkpoint, and whether it must be refused (else exit 0 may be right)."""
    import io
    import pickle
    import zipfile

    import torch

    members = zipfile.ZipFile(io.BytesIO(blob)).namelist()
    pkl = next(n for n in members if n.endswith("/data.pkl"))
    kind = draw(st.sampled_from(["flip", "raw", "truncate", "hostile", "state", "top"]))
    if kind == "flip":  # a byte of one member, CRC recomputed: the zip itself is sound
        member = draw(st.sampled_from([pkl, pkl, pkl, *members]))
        content = bytearray(zipfile.ZipFile(io.BytesIO(blob)).read(member))
        if content:
            content[draw(st.integers(0, len(content) - 1))] ^= draw(st.integers(1, 255))
        return rezip(blob, member, bytes(content)), False
    if kind == "raw":
        raw = bytearray(blob)
        raw[draw(st.integers(0, len(raw) - 1))] ^= draw(st.integers(1, 255))
        return bytes(raw), False
    if kind == "truncate":
        return blob[: draw(st.integers(0, len(blob) - 1))], True
    payload = torch.load(io.BytesIO(blob), weights_only=True)
    if kind == "hostile":
        evil = Hostile(marker)
        where = draw(st.sampled_from(["whole", "top", "state", "config", "plain", "zipped"]))
        if where == "plain":  # a bare pickle, no zip
            return pickle.dumps(evil, protocol=draw(st.integers(0, 5))), True
        if where == "zipped":  # a hand-made data.pkl inside the real zip
            return rezip(blob, pkl, pickle.dumps({**payload, "x": evil}, protocol=2)), True
        if where == "state":
            key = draw(st.sampled_from(sorted(payload["state_dict"])))
            payload["state_dict"][key] = evil
        else:
            payload = evil if where == "whole" else {**payload, where: evil}
    elif kind == "state":
        state = payload["state_dict"]
        key = draw(st.sampled_from(sorted(state)))
        change = draw(st.sampled_from(["drop", "add", "tensor", "tensor", "tensor"]))
        if change == "drop":
            del state[key]
        elif change == "add":
            state[draw(st.sampled_from(["extra", "linear9.weight", 0, ""]))] = state[key]
        else:
            state[key], valid = bad_tensor(draw, state[key])
            if valid:
                return _saved(payload), False
    else:  # the top level: what load_checkpoint reads before the weights
        entry = draw(st.sampled_from(["format", "version", "config", "state_dict"]))
        values = {
            "format": [None, "nncli", 1],
            "version": [None, 0, 2, -1, "1", True, 2**62],
            "config": [None, 1, "", "x =", "input_features = " + "9" * 5000, "[[layers]]"],
            "state_dict": [None, [], "w", {}],
        }[entry]
        value = draw(st.sampled_from(values))
        if value is None:
            del payload[entry]
        else:
            payload[entry] = value
    return _saved(payload), True


def _saved(payload: Any) -> bytes:
    import io

    import torch

    out = io.BytesIO()
    torch.save(payload, out)
    return out.getvalue()


@settings(
    max_examples=CHECKPOINT_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_bad_checkpoints_are_refused_and_never_run(
    root: Path, trained_checkpoint: bytes, data: st.DataObject
) -> None:
    """Byte-flipped, truncated, hostile and ill-formed checkpoints under ``run --weights``
    and ``summary --weights``: exit 2 (or 0 for a flip that leaves a valid file), the
    contract above, and no pickle ever runs."""
    marker = root / "hostile-pickle-ran"
    blob, refuse = data.draw(checkpoint_files(trained_checkpoint, marker))
    path = Path(tempfile.mkdtemp(dir=root)) / "w.pt"
    path.write_bytes(blob)
    args = [data.draw(st.sampled_from(["run", "summary"])), "--weights", str(path)]
    args += maybe(data.draw, ["--json"], ["--batch", "2"])
    result = CliRunner().invoke(app, args, env=BASE_ENV)
    check_contract(args, result.exit_code, result.stdout, result.stderr)
    assert result.exit_code in ((2,) if refuse else (0, 2)), f"{args}\n{result.stderr}"
    assert not marker.exists(), "a pickle from a checkpoint ran"
    shutil.rmtree(path.parent, ignore_errors=True)


# ------------------------------------------------------------------ user models (--model)

# What a user's model file does (issue 15, items 8-11): raise, exit, interrupt, print,
# write to file descriptor 1; where (at import, in the constructor or factory, in
# forward); and what forward returns.
USER_FAILURES = [
    "raise ValueError('boom')", "raise RuntimeError('')", "raise TypeError('bad')",
    "raise ZeroDivisionError", "raise AssertionError", "raise StopIteration",
    "raise NotImplementedError('no meta')", "raise RecursionError", "raise OSError(5, 'io')",
    "raise MemoryError", "raise LookupError('x' * 5000)", "raise Exception('a\\nb')",
    "raise KeyboardInterrupt", "raise GeneratorExit", "raise Odd('not an Exception')",
    "sys.exit(4)", "sys.exit()", "sys.exit('bye')", "sys.exit(0)", "exit()", "quit(3)",
]  # fmt: skip
USER_NOISE = [
    "print('noise')", "os.write(1, b'noise on fd 1\\n')", "print('noise', file=sys.stderr)",
    "sys.stdout.write('[bold]x[/bold]')", "pass",
]  # fmt: skip
USER_OUTPUTS = [
    "self.fc(x)", "None", "3", "'text'", "[self.fc(x)]", "(self.fc(x), (self.fc(x), None))",
    "{'a': self.fc(x), 'b': [1, 2.5]}", "{'deep': {'er': (self.fc(x),)}}", "{1, 2}", "object()",
    "x.sum().item()", "torch.tensor(float('nan'))", "self.fc(x).to(torch.bfloat16)", "(x > 0)",
    "self.fc(x)[:, :0]", "((),)", "{}",
]  # fmt: skip
USER_WHERE = ["import", "construction", "forward"]


def user_model_cases(seed: int = 15) -> list[tuple[str, str, str, bool]]:
    """(id, the file's text, NAME, whether it must fail), fixed by ``seed``: every action
    once, each at a drawn place, in a class or a factory, with a drawn output."""
    import random

    draw = random.Random(seed)
    cases = []
    for action in USER_FAILURES + USER_NOISE:
        fails = action in USER_FAILURES
        where = draw.choice(USER_WHERE)
        factory = draw.random() < 0.5
        returned = draw.choice(USER_OUTPUTS) if draw.random() < 0.6 else "self.fc(x)"
        made = draw.choice(["None", "3"]) if draw.random() < 0.15 else "Net()"
        act = {w: "act()\n" if w == where else "" for w in USER_WHERE}
        text = (
            "import os\nimport sys\n\nimport torch\nfrom torch import nn\n\n\n"
            "class Odd(BaseException):\n    pass\n\n\n"
            f"def act():\n    {action}\n\n\n{act['import']}\n\n"
            "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(4, 3)\n"
            f"        {'' if factory else act['construction']}\n"
            f"    def forward(self, x):\n        {act['forward']}        return {returned}\n\n\n"
            f"def make():\n    {act['construction'] if factory else ''}    return {made}\n"
        )
        name = "make" if factory else "Net"
        cases.append((f"{action} at {where} of {name} returning {returned}", text, name, fails))
    return cases


USER_MODEL_CASES = user_model_cases()


@pytest.mark.parametrize(
    ("text", "name", "fails"),
    [case[1:] for case in USER_MODEL_CASES],
    ids=[case[0] for case in USER_MODEL_CASES],
)
def test_the_contract_holds_for_hostile_user_models(
    root: Path, text: str, name: str, fails: bool
) -> None:
    """summary and run --model, with and without --json, on generated model files: exit
    0, 1 or 2 (never 130: no Ctrl-C was pressed; never the code's own exit code),
    `Error:` without a traceback, never the catch-all, one JSON document; code that
    raises, exits or interrupts where it surely runs is refused (exit 2; MemoryError: 1)."""
    folder = Path(tempfile.mkdtemp(dir=root))
    (folder / "user_model.py").write_text(text, encoding="utf-8")
    for command, json_out in (("summary", False), ("summary", True), ("run", False), ("run", True)):
        args = [command, "--model", f"{folder / 'user_model.py'}:{name}", "--input-size", "4"]
        args += ["--json"] if json_out else []
        result = CliRunner().invoke(app, args, env={**BASE_ENV, "PYTHONBREAKPOINT": "0"})
        check_contract(args, result.exit_code, result.stdout, result.stderr)
        if fails:
            expected = 1 if "MemoryError" in text else 2
            assert result.exit_code == expected, f"{args}\n{text}\n{result.stderr}"
        assert "noise on fd 1" not in result.stdout  # fd 1 is pointed at stderr
    shutil.rmtree(folder, ignore_errors=True)
