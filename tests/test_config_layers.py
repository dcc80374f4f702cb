"""Config layer types (issue 10): every type's shapes and parameters against torch, and
every argument's validation (exit 2, naming the file, the layer and the key).

The reference is torch itself: each config is built and run on a real input, and the
shapes, parameter and buffer counts that nncli computed in pure Python (before torch
is imported) must equal what torch's modules hold and return.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from nncli.core.model.build import build_model
from nncli.core.model.config import parse_config
from nncli.errors import UsageError


def spec_of(head: str, *layers: str):
    tables = "".join(f"\n[[layers]]\n{layer}\n" for layer in layers)
    return parse_config(head + tables, "t.toml")


def check_against_torch(spec) -> nn.Sequential:
    """Shapes after every layer, parameters and buffers: nncli's against torch's."""
    model = build_model(spec, seed=0).model.eval()
    x = torch.randn(2, *spec.sample_shape)
    modules = dict(model.named_children())
    from nncli.core.model.spec import module_names

    with torch.no_grad():
        for (name, act), shape in zip(module_names(spec), spec.layer_shapes, strict=True):
            x = modules[name](x)
            assert tuple(x.shape) == (2, *shape), (name, tuple(x.shape), shape)
            if act is not None:
                x = modules[act](x)
    assert spec.param_count() == sum(p.numel() for p in model.parameters())
    assert spec.linear_params() == spec.param_count()
    assert spec.buffer_count() == sum(b.numel() for b in model.buffers())
    return model


IMG = "input_shape = [3, 11, 9]"
SEQ = "input_shape = [4, 17]"


@pytest.mark.parametrize(
    ("head", "layer", "module_type"),
    [
        (IMG, 'type = "conv2d"\nout_channels = 5\nkernel_size = 3', nn.Conv2d),
        (IMG, 'type = "conv2d"\nout_channels = 6\nkernel_size = [3, 2]\nstride = [2, 1]\n'
              'padding = [1, 0]\ndilation = [1, 2]\ngroups = 3\nbias = false', nn.Conv2d),
        (IMG, 'type = "conv2d"\nout_channels = 4\nkernel_size = 4\npadding = "same"\n'
              'dilation = 2\npadding_mode = "reflect"', nn.Conv2d),
        (IMG, 'type = "conv2d"\nout_channels = 2\nkernel_size = 3\npadding = "valid"\n'
              'padding_mode = "circular"', nn.Conv2d),
        (SEQ, 'type = "conv1d"\nout_channels = 3\nkernel_size = 5\nstride = 3\npadding = 2',
         nn.Conv1d),
        (IMG, 'type = "maxpool2d"\nkernel_size = 2', nn.MaxPool2d),
        (IMG, 'type = "maxpool2d"\nkernel_size = 3\nstride = 2\npadding = 1\ndilation = 2\n'
              'ceil_mode = true', nn.MaxPool2d),
        (IMG, 'type = "avgpool2d"\nkernel_size = [2, 3]\nstride = 2\nceil_mode = true\n'
              'padding = 1\ncount_include_pad = false\ndivisor_override = 3', nn.AvgPool2d),
        (IMG, 'type = "adaptiveavgpool2d"\noutput_size = [2, 4]', nn.AdaptiveAvgPool2d),
        (IMG, 'type = "batchnorm2d"\nmomentum = 0.2\neps = 1e-3', nn.BatchNorm2d),
        (IMG, 'type = "batchnorm2d"\naffine = false\ntrack_running_stats = false',
         nn.BatchNorm2d),
        (SEQ, 'type = "batchnorm1d"', nn.BatchNorm1d),
        ("input_features = 6", 'type = "batchnorm1d"\nactivation = "relu"', nn.BatchNorm1d),
        (IMG, 'type = "layernorm"', nn.LayerNorm),
        (IMG, 'type = "layernorm"\nnormalized_shape = [11, 9]\nbias = false', nn.LayerNorm),
        (IMG, 'type = "layernorm"\nelementwise_affine = false', nn.LayerNorm),
        (IMG, 'type = "dropout"\np = 0.5', nn.Dropout),
        (IMG, 'type = "flatten"', nn.Flatten),
        (IMG, 'type = "flatten"\nstart_dim = 2', nn.Flatten),
        (IMG, 'type = "flatten"\nstart_dim = -2\nend_dim = -1', nn.Flatten),
        (IMG, "out_features = 7", nn.Linear),  # linear on the last dimension, as torch
        ("input_features = 6", 'type = "linear"\nout_features = 3\nbias = false', nn.Linear),
    ],
)  # fmt: skip
def test_every_layer_type_agrees_with_torch(head, layer, module_type):
    closing = 'type = "flatten"\n[[layers]]\nout_features = 2'
    spec = spec_of(head, layer, closing)
    model = check_against_torch(spec)
    first = next(iter(model.children()))
    assert type(first) is module_type
    assert next(iter(dict(model.named_children()))) == f"{spec.layers[0].type}1"


def test_the_inferred_sizes_are_torch_constructor_arguments():
    spec = spec_of(
        IMG,
        'type = "conv2d"\nout_channels = 8\nkernel_size = 3',
        'type = "batchnorm2d"',
        'type = "flatten"',
        "out_features = 4",
    )
    model = build_model(spec, meta=True).model
    conv, norm, _, linear = model
    assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (3, 8, (3, 3))
    assert norm.num_features == 8
    assert linear.in_features == 8 * 9 * 7
    assert spec.input_features == 3 * 11 * 9
    assert spec.input_shape == (3, 11, 9)
    assert spec.output_features == 4


def test_init_on_a_conv_kernel_uses_torchs_fans():
    """xavier_uniform's bound is gain·√(6/(fan_in + fan_out)) with the receptive field."""
    spec = spec_of(
        IMG,
        'type = "conv2d"\nout_channels = 8\nkernel_size = 3\ninit = "xavier_uniform"',
        'type = "flatten"',
        "out_features = 2",
    )
    weight = build_model(spec, seed=0).model[0].weight
    fan_in, fan_out = 3 * 9, 8 * 9
    bound = math.sqrt(6 / (fan_in + fan_out))
    assert weight.abs().max() <= bound
    assert weight.abs().max() > 0.9 * bound  # 216 draws reach the edge


def test_old_configs_keep_their_names_and_counts():
    spec = parse_config("input_features = 3\n[[layers]]\nout_features = 2\nactivation='relu'")
    assert [type(m).__name__ for m in build_model(spec, meta=True).model] == ["Linear", "ReLU"]
    assert spec.input_shape is None and spec.sample_shape == (3,)
    assert spec.layers[0].type == "linear" and spec.layers[0].args == {}


# ------------------------------------------------------------------ validation


BAD = [
    # (top level, layer, fragments of the message)
    ("input_features = 3\ninput_shape = [3]", "out_features = 1", ["not both"]),
    ('input_shape = "1x28x28"', "out_features = 1", ["input_shape", "list of 1 to 3"]),
    ("input_shape = [1, 0, 28]", "out_features = 1", ["input_shape", "> 0"]),
    ("input_shape = [1, 2, 3, 4]", "out_features = 1", ["list of 1 to 3"]),
    (IMG, 'type = "conv3d"', ["layers[1].type", "unknown layer type", "conv2d"]),
    (IMG, "type = 2", ["layers[1].type", "must be a layer type"]),
    (IMG, 'type = "conv2d"\nkernel_size = 3', ["layers[1]", "missing required key 'out_channels'"]),
    (IMG, 'type = "conv2d"\nout_channels = 3', ["missing required key 'kernel_size'"]),
    (IMG, 'type = "conv2d"\nin_channels = 3\nout_channels = 3\nkernel_size = 3',
     ["layers[1].in_channels", "inferred", "3×11×9"]),
    ("input_features = 4", "in_features = 4\nout_features = 2", ["layers[1].in_features"]),
    (IMG, 'type = "batchnorm2d"\nnum_features = 3', ["layers[1].num_features", "inferred"]),
    (IMG, 'type = "conv2d"\nout_features = 3\nkernel_size = 3', ["out_features", "out_channels"]),
    (IMG, 'type = "conv2d"\nout_channels = 0\nkernel_size = 3',
     ["layers[1].out_channels", "≥ 1, got 0"]),
    (IMG, 'type = "conv2d"\nout_channels = 2\nkernel_size = 2.5', ["layers[1].kernel_size"]),
    (IMG, 'type = "conv2d"\nout_channels = 2\nkernel_size = [3, 3, 3]',
     ["layers[1].kernel_size", "list of 2 integers", "list of 3"]),
    (IMG, 'type = "conv2d"\nout_channels = 2\nkernel_size = 3\nstride = 0', ["layers[1].stride"]),
    (IMG, 'type = "conv2d"\nout_channels = 2\nkernel_size = 3\npadding = -1',
     ["layers[1].padding", "≥ 0"]),
    (IMG, 'type = "conv2d"\nout_channels = 2\nkernel_size = 3\npadding = "full"',
     ["layers[1].padding", "'same' or 'valid'"]),
    (IMG, 'type = "conv2d"\nout_channels = 2\nkernel_size = 3\npadding = "same"\nstride = 2',
     ["layers[1].padding", "stride 1"]),
    (IMG, 'type = "conv2d"\nout_channels = 2\nkernel_size = 3\npadding_mode = "mirror"',
     ["layers[1].padding_mode", "reflect"]),
    (IMG, 'type = "conv2d"\nout_channels = 4\nkernel_size = 3\ngroups = 2',
     ["layers[1].groups", "in_channels 3 is not divisible by groups 2"]),
    (IMG, 'type = "conv2d"\nout_channels = 4\nkernel_size = 3\nbias = 1', ["layers[1].bias"]),
    (IMG, 'type = "conv2d"\nout_channels = 4\nkernel_size = 12',
     ["layers[1] (conv2d)", "kernel 12×12 is larger than its input 3×11×9 (padding 0)"]),
    (IMG, 'type = "conv2d"\nout_channels = 4\nkernel_size = 5\ndilation = 3',
     ["kernel 5×5 (dilation 3) is larger than its input 3×11×9"]),
    (IMG, 'type = "conv2d"\nout_channels = 4\nkernel_size = 3\npadding = 9\n'
          'padding_mode = "reflect"', ["padding 9 (reflect) is too large"]),
    (IMG, 'type = "maxpool2d"\nkernel_size = 2\npadding = 2', ["more than half of kernel 2×2"]),
    (IMG, 'type = "maxpool2d"\nkernel_size = 2\nceil_mode = "yes"',
     ["layers[1].ceil_mode", "true or false"]),
    (IMG, 'type = "maxpool2d"\nkernel_size = 2\nreturn_indices = true',
     ["layers[1]", "unknown key 'return_indices'"]),
    (IMG, 'type = "maxpool2d"\nkernel_size = 2\ninit = "xavier_normal"',
     ["layers[1]", "unknown key 'init'"]),
    (IMG, 'type = "avgpool2d"\nkernel_size = 2\ndivisor_override = 0',
     ["layers[1].divisor_override"]),
    (IMG, 'type = "adaptiveavgpool2d"', ["missing required key 'output_size'"]),
    (IMG, 'type = "adaptiveavgpool2d"\noutput_size = [0, 1]', ["layers[1].output_size"]),
    (IMG, 'type = "batchnorm1d"', ["layers[1] (batchnorm1d)", "1-D (features) or 2-D",
                                   "its input is 3×11×9 (3-D)", "flatten first"]),
    ("input_features = 4", 'type = "conv2d"\nout_channels = 2\nkernel_size = 1',
     ["takes a 3-D", "its input is 4 (1-D)", "input_shape"]),
    (IMG, 'type = "batchnorm2d"\nmomentum = 1.5', ["layers[1].momentum", "[0, 1]"]),
    (IMG, 'type = "batchnorm2d"\neps = 0', ["layers[1].eps", "greater than 0"]),
    (IMG, 'type = "layernorm"\nnormalized_shape = [3, 9]',
     ["layers[1].normalized_shape", "3×9 does not match", "3×11×9"]),
    (IMG, 'type = "layernorm"\nnormalized_shape = []', ["layers[1].normalized_shape"]),
    (IMG, 'type = "dropout"\np = 1.0', ["layers[1].p", "[0, 1)"]),
    (IMG, 'type = "dropout"\np = "half"', ["layers[1].p", "finite number"]),
    (IMG, 'type = "flatten"\nstart_dim = 0', ["layers[1].start_dim", "batch"]),
    (IMG, 'type = "flatten"\nend_dim = 4', ["layers[1].end_dim", "out of range"]),
    (IMG, 'type = "flatten"\nstart_dim = 3\nend_dim = 2', ["start_dim 3 comes after end_dim 2"]),
]  # fmt: skip


@pytest.mark.parametrize(("head", "layer", "fragments"), BAD)
def test_bad_layer_arguments_name_the_file_layer_and_key(head, layer, fragments):
    closing = "\n[[layers]]\ntype = 'flatten'\n[[layers]]\nout_features = 2"
    with pytest.raises(UsageError) as info:
        parse_config(f"{head}\n[[layers]]\n{layer}\n{closing}", "bad.toml")
    text = info.value.message + " " + (info.value.hint or "")
    assert info.value.message.startswith("config bad.toml: ")
    for fragment in fragments:
        assert fragment in text, (fragment, text)


def test_a_later_layer_names_the_shape_it_got():
    with pytest.raises(UsageError) as info:
        parse_config(
            "input_shape = [1, 8, 8]\n"
            "[[layers]]\ntype = 'conv2d'\nout_channels = 2\nkernel_size = 3\n"
            "[[layers]]\ntype = 'maxpool2d'\nkernel_size = 2\n"
            "[[layers]]\ntype = 'conv2d'\nout_channels = 2\nkernel_size = 5\n"
            "[[layers]]\ntype = 'flatten'\n[[layers]]\nout_features = 2",
            "lenet.toml",
        )
    assert info.value.message == (
        "config lenet.toml: layers[3] (conv2d): kernel 5×5 is larger than its input "
        "2×3×3 (padding 0)"
    )


def test_the_output_must_be_one_vector_per_sample():
    with pytest.raises(UsageError) as info:
        spec_of(IMG, 'type = "conv2d"\nout_channels = 2\nkernel_size = 3')
    assert "layers[1] (conv2d)" in info.value.message
    assert "output is 2×9×7" in info.value.message
    assert "flatten" in (info.value.hint or "")


def test_a_huge_conv_is_refused_before_torch():
    """About 2**62 float32 weights, 2**64 bytes: torch's own size arithmetic overflows."""
    with pytest.raises(UsageError) as info:
        spec_of(
            "input_shape = [134217727, 4, 4]",
            'type = "conv2d"\nout_channels = 2147483647\nkernel_size = 4',
            'type = "flatten"',
            "out_features = 1",
        )
    assert "more than torch can address" in info.value.message


@pytest.mark.parametrize(
    ("layer", "fragment"),
    [
        ('type = "conv2d"\nout_channels = 2\nkernel_size = 30', "is larger than its input"),
        ('type = "dropout"\np = 2', "layers[1].p"),
        ('type = "conv2d"\nin_channels = 1\nout_channels = 2\nkernel_size = 3', "inferred"),
    ],
)
def test_cli_exits_2_with_the_message(cli, tmp_path: Path, layer, fragment):
    path = tmp_path / "cnn.toml"
    path.write_text(
        f"input_shape = [1, 8, 8]\n[[layers]]\n{layer}\n"
        "[[layers]]\ntype = 'flatten'\n[[layers]]\nout_features = 2\n",
        encoding="utf-8",
    )
    for command in ("summary", "run"):
        out = cli(command, "--config", str(path))
        assert out.exit_code == 2, out.stderr
        assert out.stderr.startswith(f"Error: config {path}: layers[1]"), out.stderr
        assert fragment in out.stderr
        assert "Traceback" not in out.stderr


# ------------------------------------------------------------------ issue 14: one registry


def test_a_new_layer_type_is_one_registry_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every per-type fact is a field of its LayerType: a 1-D max pool, made from the 2-D
    one's entry alone, is read, checked, built, counted and summarised like torch's."""
    import dataclasses

    from nncli.core.model import layertypes as lt
    from nncli.core.model.hooks import collect_tree
    from nncli.core.model.summarize import summarize_spec

    pool1d = dataclasses.replace(
        lt.LAYER_TYPES["maxpool2d"], name="maxpool1d", module="MaxPool1d", ranks=(2,), dims=1
    )
    monkeypatch.setitem(lt.LAYER_TYPES, "maxpool1d", pool1d)
    spec = spec_of(
        SEQ,
        'type = "maxpool1d"\nkernel_size = 3\nstride = 2\npadding = 1\nceil_mode = true',
        'type = "flatten"',
    )
    model = check_against_torch(spec)
    assert isinstance(model[0], nn.MaxPool1d)
    assert spec.layer_shapes[0] == (4, 9)
    x = torch.zeros(2, *spec.sample_shape)
    rows, _memory = collect_tree(model, (x,), {}, functional=False)
    assert summarize_spec(spec, 2, "cpu").layers == rows
    with pytest.raises(UsageError, match=r"padding 2 is more than half of kernel 3"):
        spec_of(SEQ, 'type = "maxpool1d"\nkernel_size = 3\npadding = 2', 'type = "flatten"')


def test_conv_facts_come_from_the_registry() -> None:
    """What used to be ``name.startswith("conv")``: strides default to 1 only for convs,
    'same' padding only for convs, and the hint for out_features names out_channels."""
    from nncli.core.model import layertypes as lt

    assert [t.name for t in lt.LAYER_TYPES.values() if t.conv] == ["conv1d", "conv2d"]
    pool = spec_of(IMG, 'type = "maxpool2d"\nkernel_size = 2', 'type = "flatten"')
    conv = spec_of(IMG, 'type = "conv2d"\nout_channels = 1\nkernel_size = 2', 'type = "flatten"')
    assert pool.layer_shapes[0] == (3, 5, 4) and conv.layer_shapes[0] == (1, 10, 8)
    with pytest.raises(UsageError, match="padding: must be an integer ≥ 0, got 'same'"):
        spec_of(IMG, 'type = "maxpool2d"\nkernel_size = 2\npadding = "same"')
    with pytest.raises(UsageError) as info:
        spec_of(IMG, 'type = "conv2d"\nout_features = 2\nkernel_size = 2')
    assert info.value.hint == "a conv layer's width is out_channels"
    with pytest.raises(UsageError) as info:
        spec_of(IMG, 'type = "dropout"\nout_features = 2')
    assert info.value.hint == lt.OUT_FEATURES_HINT
