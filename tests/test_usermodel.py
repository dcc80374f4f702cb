"""The user's own nn.Module (--model SPEC): resolving, building, summarising, errors.

References are independent of nncli: a real build's ``sum(p.numel())``, a real forward
pass's shapes, torchinfo's totals, torch's own seeded initialisation.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import torchinfo
from torch import nn

from nncli.core.model.user.call import build_module
from nncli.core.model.user.request import ModelRequest
from nncli.core.model.user.summary import summarize_target
from nncli.core.model.user.target import parse_model_kwargs, resolve_target
from nncli.errors import RuntimeFailure, UsageError
from tests.models import user_nets

MODELS = Path(__file__).parent / "models"
NETS = MODELS / "user_nets.py"


def spec(name: str, file: Path = NETS) -> str:
    return f"{file}:{name}"


LISTS = ("input_sizes", "dtypes", "input_files")


def summarize(
    target: str,
    sizes: list[str] | None = None,
    *,
    depth: int = 3,
    functional: bool | None = None,
    **options: Any,
) -> Any:
    options["input_sizes"] = ["3,8,8"] if sizes is None else sizes
    fields: dict[str, Any] = {k: tuple(v or ()) if k in LISTS else v for k, v in options.items()}
    request = ModelRequest(target, **{"batch": 2, "device": "cpu", **fields})
    return summarize_target(request, depth=depth, functional=functional)


def usage_error(target: str) -> UsageError:
    with pytest.raises(UsageError) as info:
        resolve_target(target)
    return info.value


# --- resolving SPEC --------------------------------------------------------------


def test_every_kind_of_name() -> None:
    assert resolve_target(spec("SmallCNN")).kind == "class"
    assert resolve_target(spec("make_cnn")).kind == "factory"
    assert resolve_target(spec("instance")).kind == "instance"
    dotted = resolve_target("tests.models.user_nets:SmallCNN")
    assert dotted.obj is user_nets.SmallCNN and dotted.name == "SmallCNN"
    assert resolve_target("torch.nn:Linear").obj is nn.Linear


@pytest.mark.parametrize("bad", ["no_colon", ":Net", "model.py:", "  :  ", ""])
def test_malformed_spec_shows_both_forms(bad: str) -> None:
    error = usage_error(bad)
    assert "package.module:NAME or path/to/file.py:NAME" in error.message
    assert error.hint is not None


def test_missing_file_and_not_python(tmp_path: Path) -> None:
    assert "no such file" in usage_error(spec("Net", tmp_path / "absent.py")).message
    (tmp_path / "model.txt").write_text("x = 1\n")
    assert "not a .py file" in usage_error(f"{tmp_path / 'model.txt'}:Net").message


def test_a_module_that_is_not_importable() -> None:
    error = usage_error("no_such_module_for_nncli:Net")
    assert "No module named 'no_such_module_for_nncli'" in error.message
    assert error.hint is not None and "PYTHONPATH" in error.hint


def test_an_exception_while_importing_names_type_message_and_line() -> None:
    file = MODELS / "raises_on_import.py"
    line = 1 + file.read_text().splitlines().index('    raise ValueError("boom while importing")')
    error = usage_error(spec("Net", file))
    assert "raised ValueError: boom while importing" in error.message
    assert f"{file}:{line}" in error.message
    assert not [m for m in sys.modules if "raises_on_import" in m]  # not left half-imported


def test_a_missing_dependency_syntax_error_and_exit(tmp_path: Path) -> None:
    (tmp_path / "needs.py").write_text("import os\nimport no_such_dependency_for_nncli\n")
    error = usage_error(spec("Net", tmp_path / "needs.py"))
    assert "ModuleNotFoundError: No module named 'no_such_dependency_for_nncli'" in error.message
    assert "needs.py:2" in error.message
    (tmp_path / "broken.py").write_text("x = 1\n\ndef f(:\n    pass\n")
    error = usage_error(spec("Net", tmp_path / "broken.py"))
    assert "SyntaxError" in error.message and "broken.py:3" in error.message
    (tmp_path / "script.py").write_text("import sys\nsys.exit(3)\n")
    assert "called sys.exit(3)" in usage_error(spec("Net", tmp_path / "script.py")).message


def test_a_missing_name_suggests_the_closest() -> None:
    error = usage_error(spec("SmallCnn"))
    assert error.message.endswith("has no 'SmallCnn'")
    assert error.hint == "did you mean SmallCNN?"
    error = usage_error(spec("Zebra"))
    assert error.hint is not None and "SmallCNN" in error.hint and "make_cnn" in error.hint


def test_a_name_that_is_not_a_model() -> None:
    assert "is an int, not an nn.Module" in usage_error(spec("NOT_A_MODEL")).message
    error = usage_error(spec("Config"))
    assert "is a class but not an nn.Module subclass" in error.message


def test_sibling_imports_work_and_sys_path_is_restored() -> None:
    before = list(sys.path)
    target = resolve_target(spec("Net", MODELS / "uses_sibling.py"))
    assert sys.path == before
    assert target.obj().fc.in_features == 9  # WIDTH, from user_sibling_helper.py


def test_two_files_with_one_name_stay_apart(tmp_path: Path) -> None:
    for width in (3, 5):
        (tmp_path / f"d{width}").mkdir()
        (tmp_path / f"d{width}" / "model.py").write_text(
            f"from torch import nn\nclass Net(nn.Linear):\n"
            f"    def __init__(self):\n        super().__init__({width}, 1)\n"
        )
    three = resolve_target(spec("Net", tmp_path / "d3" / "model.py")).obj
    five = resolve_target(spec("Net", tmp_path / "d5" / "model.py")).obj
    assert (three().in_features, five().in_features) == (3, 5)


# --- --model-kwargs ---------------------------------------------------------------


def test_model_kwargs() -> None:
    assert parse_model_kwargs(None) == {}
    assert parse_model_kwargs('{"num_classes": 3, "width": 2}') == {"num_classes": 3, "width": 2}
    with pytest.raises(UsageError, match=r"not valid JSON: .* line 1, column 9"):
        parse_model_kwargs('{"a": 1,}')
    with pytest.raises(UsageError, match=r"must be a JSON object .* got an array"):
        parse_model_kwargs("[1]")


def test_kwargs_that_do_not_fit_are_refused_before_construction(tmp_path: Path) -> None:
    (tmp_path / "counted.py").write_text(
        "from torch import nn\nBUILT = []\n"
        "class Net(nn.Module):\n"
        "    def __init__(self, num_classes=10, width=64):\n"
        "        BUILT.append(1)\n        super().__init__()\n"
    )
    target = resolve_target(spec("Net", tmp_path / "counted.py"))
    with pytest.raises(UsageError) as info:
        build_module(target, {"num_clases": 3}, meta=True, device="cpu", seed=None)
    assert "Net(num_classes=10, width=64)" in info.value.message
    assert "num_clases" in info.value.message
    assert sys.modules[target.obj.__module__].BUILT == []
    with pytest.raises(UsageError, match="does not apply: instance is a module instance"):
        summarize(spec("instance"), kwargs_text='{"width": 2}')


def test_a_factory_must_return_a_module() -> None:
    target = resolve_target(spec("make_list"))
    for meta in (True, False):
        with pytest.raises(UsageError, match=r"make_list\(\) returned a list, not an nn.Module"):
            build_module(target, {}, meta=meta, device="cpu", seed=0)


def test_a_constructor_error_is_a_usage_error() -> None:
    target = resolve_target(spec("SmallCNN"))
    with pytest.raises(UsageError, match="building SmallCNN raised") as info:
        build_module(target, {"width": -1}, meta=False, device="cpu", seed=0)
    assert info.value.hint is not None and "SmallCNN(num_classes" in info.value.hint


# --- building -------------------------------------------------------------------------


def test_meta_and_real_builds() -> None:
    target = resolve_target(spec("SmallCNN"))
    meta = build_module(target, {"num_classes": 3}, meta=True, device="cpu", seed=None)
    real = build_module(target, {"num_classes": 3}, meta=False, device="cpu", seed=5)
    assert all(p.is_meta for p in meta.parameters())
    assert [p.shape for p in meta.parameters()] == [p.shape for p in real.parameters()]
    torch.manual_seed(5)  # the reference: torch's own initialisation from seed 5
    expected = target.obj(num_classes=3).state_dict()
    assert all(torch.equal(real.state_dict()[k], v) for k, v in expected.items())
    instance = resolve_target(spec("instance"))
    assert build_module(instance, {}, meta=True, device="meta", seed=None) is instance.obj


# --- summaries --------------------------------------------------------------------------


def _row(result: Any, name: str) -> Any:
    return next(r for r in result.layers if r.name == name)


def test_a_cnn_summary_agrees_with_a_real_build_and_torchinfo() -> None:
    result = summarize(spec("SmallCNN"), kwargs_text='{"num_classes": 3, "width": 5}')
    assert result.built_on == "meta" and result.fallback is None
    torch.manual_seed(0)
    real = user_nets.SmallCNN(num_classes=3, width=5)
    x = torch.randn(2, 3, 8, 8)
    assert result.total_params == sum(p.numel() for p in real.parameters())
    assert result.buffers == sum(b.numel() for b in real.buffers())
    reference = torchinfo.summary(real, input_data=x, verbose=0)
    assert result.total_params == reference.total_params
    assert result.mult_adds == reference.total_mult_adds
    assert _row(result, "conv").output_shape == list(real.conv(x).shape)
    assert _row(result, "head").output_shape == list(real(x).shape)
    assert result.model_name == "SmallCNN" and result.model_spec == spec("SmallCNN")
    assert result.source == spec("SmallCNN")
    assert result.inputs == [{"name": None, "shape": [2, 3, 8, 8], "dtype": "float32"}]
    assert result.input_shape == [2, 3, 8, 8] and result.depth == 3


def test_a_forward_that_cannot_run_on_meta_is_built_for_real() -> None:
    result = summarize(spec("ItemNet"), ["6"])
    assert result.built_on == "cpu"
    assert result.fallback.startswith("forward does not run on meta tensors: ")
    assert "item()" in result.fallback  # built_on says where: the renderer shows both
    assert result.total_params == sum(p.numel() for p in user_nets.ItemNet().parameters())
    assert _row(result, "fc").output_shape == [2, 3]


def test_a_constructor_that_cannot_run_on_meta_is_built_for_real() -> None:
    result = summarize(spec("MetaCtorNet"), ["4"])
    assert result.built_on == "cpu"
    assert result.fallback.startswith("the constructor does not run on the meta device")
    assert result.total_params == sum(p.numel() for p in user_nets.MetaCtorNet().parameters())


def test_the_fallback_checks_memory_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NNCLI_MEMORY_LIMIT", "1MB")
    with pytest.raises(RuntimeFailure, match=r"a real build .* nothing was allocated"):
        summarize(spec("ItemNet"), ["6"])
    summarize(spec("SmallCNN"))  # on meta: no check, nothing to allocate


@pytest.mark.filterwarnings("ignore:Using a non-tuple sequence")  # DictNet indexes a tensor
def test_a_forward_failure_names_the_layer_and_its_input() -> None:
    with pytest.raises(UsageError) as info:
        summarize(spec("SmallCNN"), ["4,8,8"])
    assert info.value.message.startswith(
        "the forward pass fails in conv (Conv2d) given input [2, 4, 8, 8]: "
    )
    assert info.value.hint is not None and "--input-size" in info.value.hint
    with pytest.raises(UsageError, match=r"fails in DictNet.forward"):
        summarize(spec("DictNet"), ["3,4,4"])


def test_an_inferred_input_size_is_said() -> None:
    result = summarize(spec("MLP"), [])
    assert result.input_shape == [2, user_nets.MLP().fc1.in_features]
    assert result.extras["notes"] == ["input shape inferred from fc1 (Linear, in_features=12)"]
    with pytest.raises(UsageError, match="--model needs --input-size"):
        summarize(spec("SmallCNN"), [])


def test_named_inputs_dict_and_keywords() -> None:
    x = {"image": torch.randn(2, 3, 4, 4), "extra": torch.randn(2, 5)}
    for name in ("DictNet", "KwargsNet"):
        result = summarize(spec(name), ["image=3,4,4", "extra=5"])
        model = getattr(user_nets, name)()
        assert [i["name"] for i in result.inputs] == ["image", "extra"]
        assert result.total_params == sum(p.numel() for p in model.parameters())
        assert _row(result, "conv").output_shape == list(model.conv(x["image"]).shape)
        output = model(x) if name == "DictNet" else model(**x)
        assert _row(result, "fc").output_shape == list(output.shape)


def test_forward_hints() -> None:
    with pytest.raises(UsageError, match=r"fails in tokens \(Embedding\)") as info:
        summarize(spec("TokenNet"), ["7"])
    assert info.value.hint == "an nn.Embedding takes integer ids: add --dtype long (and --vocab N)"
    with pytest.raises(UsageError, match="missing 1 required positional argument") as info:
        summarize(spec("KwargsNet"), ["image=3,4,4", "extr=5"])
    assert info.value.hint is not None and "forward(image, extra)" in info.value.hint


def test_token_ids() -> None:
    result = summarize(spec("TokenNet"), ["7"], dtypes=["long"])
    assert result.inputs == [{"name": None, "shape": [2, 7], "dtype": "int64"}]
    assert result.total_params == sum(p.numel() for p in user_nets.TokenNet().parameters())
    assert _row(result, "fc").output_shape == [2, 2]


# --- an instance is left exactly as found -----------------------------------------------


def _state(model: nn.Module) -> dict[str, Any]:
    return {
        "training": [m.training for m in model.modules()],
        "params": [
            (id(p), p.device, p.requires_grad, p.detach().clone()) for p in model.parameters()
        ],
        "buffers": [(id(b), b.clone()) for b in model.buffers()],
        "hooks": [(len(m._forward_hooks), len(m._forward_pre_hooks)) for m in model.modules()],
    }


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a["training"] != b["training"] or a["hooks"] != b["hooks"]:
        return False
    params = all(
        x[:3] == y[:3] and torch.equal(x[3], y[3])
        for x, y in zip(a["params"], b["params"], strict=True)
    )
    buffers = all(
        x[0] == y[0] and torch.equal(x[1], y[1])
        for x, y in zip(a["buffers"], b["buffers"], strict=True)
    )
    return params and buffers


@pytest.mark.parametrize(
    ("name", "size", "built_on"), [("instance", "3,8,8", "meta"), ("item_instance", "6", "cpu")]
)
def test_an_instance_is_left_as_found(name: str, size: str, built_on: str) -> None:
    model = getattr(user_nets, name)
    calls: list[int] = []
    handle = model.register_forward_hook(lambda *_: calls.append(1))
    try:
        before = _state(model)
        result = summarize(f"tests.models.user_nets:{name}", [size])
        assert _same(before, _state(model))
        assert model.training  # still in training mode
    finally:
        handle.remove()
    assert result.built_on == built_on
    assert calls  # the user's own hook ran during the pass, and is still registered
    assert result.total_params == sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert result.trainable_params == trainable
    if built_on == "cpu":
        assert result.fallback.endswith("run on its own device (cpu)")


def test_the_users_prints_go_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "chatty.py").write_text(
        "from torch import nn\nprint('importing')\n"
        "class Net(nn.Linear):\n"
        "    def __init__(self):\n        print('building')\n        super().__init__(3, 2)\n"
        "    def forward(self, x):\n        print('forward')\n        return super().forward(x)\n"
    )
    result = summarize(spec("Net", tmp_path / "chatty.py"), ["3"])
    assert result.total_params == 3 * 2 + 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.split() == ["importing", "building", "forward"]


def test_running_out_of_memory_in_forward_is_a_runtime_failure(tmp_path: Path) -> None:
    (tmp_path / "hungry.py").write_text(
        "import torch\nfrom torch import nn\n"
        "class Net(nn.Linear):\n"
        "    def __init__(self):\n        super().__init__(3, 2)\n"
        "    def forward(self, x):\n"
        "        if x.is_meta:\n            x.sum().item()\n"
        "        raise torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 2 GiB')\n"
    )
    with pytest.raises(RuntimeFailure, match=r"ran out of memory in Net\.forward"):
        summarize(spec("Net", tmp_path / "hungry.py"), ["3"])


def test_an_input_file_gives_shape_and_dtype(tmp_path: Path) -> None:
    import numpy as np

    np.save(tmp_path / "images.npy", np.zeros((3, 3, 8, 8), dtype=np.float32))
    result = summarize(spec("SmallCNN"), [], input_files=[str(tmp_path / "images.npy")])
    assert result.built_on == "meta"
    assert result.inputs == [{"name": None, "shape": [3, 3, 8, 8], "dtype": "float32"}]
    assert result.input_shape == [3, 3, 8, 8]
    np.save(tmp_path / "doubles.npy", np.zeros((3, 3, 8, 8), dtype=np.float64))
    with pytest.raises(UsageError, match=r"conv \(Conv2d\) given input \[3, 3, 8, 8\]") as info:
        summarize(spec("SmallCNN"), [], input_files=[str(tmp_path / "doubles.npy")])
    assert info.value.hint is not None and "--input files" in info.value.hint
