"""Models as people bring them (issue 17 section 2): pruned weights count the same on both
build paths, a forward that branches on the device is flagged when the pass ran on meta,
a meta pass stopped by ``.item()`` names the call and where it was made, and a factory
that imports its library when called finds it and leaves it real.

References: hand counts of the two Linear layers, the masks' zeros counted by torch on the
instance itself, and the model's own forward run on the CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.models import accept_nets

NETS = Path(__file__).parent / "models" / "accept_nets.py"
BATCH = 5


def _summary(cli, name: str, *extra: str) -> dict:
    out = cli("summary", "--model", f"{NETS}:{name}", "--input-size", "4", "--json", *extra)
    assert out.exit_code == 0, out.stderr
    return out.json()


def _pruning_notes(doc: dict) -> list[str]:
    return [n for n in doc.get("notes", []) if n.startswith("pruned")]


# --- pruned models --------------------------------------------------------------------

# Dense weights: fc1 4x8 + 8 bias, fc2 8x2 + 2 bias, each × the batch (torchinfo's rule
# for a Linear). torchinfo 1.8 counts the mask's 16 ones instead of fc1's 32 weights.
DENSE_PARAMS = 4 * 8 + 8 + 8 * 2 + 2
DENSE_MULT_ADDS = BATCH * DENSE_PARAMS
TORCHINFO_PRUNED_MULT_ADDS = BATCH * (16 + 8 + 8 * 2 + 2)
MEASURED_MACS = BATCH * (4 * 8 + 8 * 2)  # the dense matrix products torch runs


def test_a_pruned_model_counts_the_same_on_meta_and_on_a_real_build(cli) -> None:
    meta = _summary(cli, "pruned")
    real = _summary(cli, "pruned", "--model-kwargs", '{"real": true}', "--device", "cpu")
    assert meta["built_on"] == "meta" and meta["fallback"] is None
    assert real["built_on"] == "cpu" and real["fallback"]  # the .item() forced a real build
    for doc in (meta, real):
        assert doc["total_params"] == DENSE_PARAMS
        assert doc["mult_adds"] == DENSE_MULT_ADDS != TORCHINFO_PRUNED_MULT_ADDS
        assert doc["macs"] == MEASURED_MACS
    rows = [
        {r["name"]: r["mult_adds"] for r in d["layers"] if r["kind"] == "module"}
        for d in (meta, real)
    ]
    assert rows[0] == rows[1] and rows[0]["fc1"] == BATCH * (32 + 8)


def test_the_pruning_note_counts_the_masks_zeros_where_they_are_known(cli) -> None:
    zeros = int((accept_nets.PRUNED_INSTANCE.fc1.weight_mask == 0).sum())
    assert zeros == 16
    real = _summary(cli, "pruned", "--model-kwargs", '{"real": true}')
    instance = _summary(cli, "PRUNED_INSTANCE")  # run on meta copies; its own masks are real
    for doc in (real, instance):
        (note,) = _pruning_notes(doc)
        assert f"the masks zero {zeros} of their 32 values" in note
        assert "1 weight;" in note and "dense" in note
    (meta_note,) = _pruning_notes(_summary(cli, "pruned"))
    assert "unknown" in meta_note and "of their 32 values" not in meta_note


def test_an_unpruned_model_has_no_pruning_note(cli) -> None:
    assert _pruning_notes(_summary(cli, "UsesDevice")) == []


def test_pruning_note_counts_each_pruned_weight() -> None:
    from torch import nn
    from torch.nn.utils import prune

    from nncli.core.model.hooks import pruning_note

    model = nn.Sequential(nn.Linear(10, 10), nn.Linear(10, 5))
    prune.random_unstructured(model[0], "weight", amount=0.3)
    prune.random_unstructured(model[1], "weight", amount=0.4)
    zeros = sum(int((m.weight_mask == 0).sum()) for m in model)
    assert zeros == 30 + 20
    note = pruning_note(model)
    assert note is not None and "2 weights;" in note
    assert f"the masks zero {zeros} of their 150 values" in note
    assert pruning_note(nn.Linear(3, 3)) is None


# --- a forward that branches on the device --------------------------------------------


def _branch_notes(doc: dict) -> list[str]:
    return [n for n in doc.get("notes", []) if "reads the input's device" in n]


def test_a_device_branch_is_flagged_when_the_pass_ran_on_meta(cli) -> None:
    on_cpu = accept_nets.DeviceBranch()(torch.zeros(BATCH, 4))
    doc = _summary(cli, "DeviceBranch")
    assert doc["built_on"] == "meta"
    # What the user would otherwise not see: meta took the wide branch, the CPU the small one.
    assert list(on_cpu.shape) == [BATCH, 2]
    rows = {r["name"]: r for r in doc["layers"]}
    assert rows["out"]["output_shape"] == [BATCH, 16] and rows["small"]["output_shape"] is None
    assert doc["macs"] == BATCH * (4 * 64 + 64 * 16) != BATCH * 4 * 2
    (note,) = _branch_notes(doc)
    assert "DeviceBranch" in note and "device.type" in note and "--device cpu" not in note
    table = cli("summary", "--model", f"{NETS}:DeviceBranch", "--input-size", "4")
    assert table.exit_code == 0 and "another branch" in " ".join(table.stdout.split())


def test_is_cuda_is_a_device_branch_too(cli) -> None:
    (note,) = _branch_notes(_summary(cli, "CudaBranch"))
    assert ".is_cuda" in note


def test_placing_a_tensor_on_the_input_device_is_no_branch(cli) -> None:
    assert _branch_notes(_summary(cli, "UsesDevice")) == []


def test_a_real_build_has_no_device_branch_note() -> None:
    """The fallback ran the model on the CPU: what it did is what the CPU does."""
    from nncli.core.model.user.summary import _model_notes

    assert _model_notes(accept_nets.DeviceBranch(), on_meta=False) == []
    assert _model_notes(accept_nets.DeviceBranch(), on_meta=True)


# --- a meta pass stopped by .item() ----------------------------------------------------

MASK_ARGS = (
    "--input-size",
    "input_ids=6",
    "--input-size",
    "attention_mask=6",
    "--dtype",
    "long",
    "--json",
)


def _line_of(text: str) -> int:
    return next(i for i, line in enumerate(NETS.read_text().splitlines(), 1) if text in line)


def test_the_fallback_names_the_item_call_and_suggests_leaving_the_mask_out(cli) -> None:
    out = cli("summary", "--model", f"{NETS}:MaskItem", *MASK_ARGS)
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    assert doc["built_on"] == "cpu"
    line = _line_of("(attention_mask == 1).all().item()")
    assert f"Tensor.item() in accept_nets.py:{line}" in doc["fallback"].replace("tests/models/", "")
    assert "leave attention_mask out" in doc["fallback"]


def test_without_the_mask_the_pass_stays_on_meta(cli) -> None:
    args = ("--input-size", "input_ids=6", "--dtype", "long", "--json")
    out = cli("summary", "--model", f"{NETS}:MaskItem", *args)
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    assert doc["built_on"] == "meta" and doc["fallback"] is None


def test_an_item_without_a_mask_input_suggests_nothing_about_masks(cli) -> None:
    doc = _summary(cli, "pruned", "--model-kwargs", '{"real": true}')
    line = _line_of("float(x.sum().item())")
    assert f"Tensor.item() in accept_nets.py:{line}" in doc["fallback"].replace("tests/models/", "")
    assert "mask" not in doc["fallback"]


def test_a_refused_real_build_says_which_call_needed_it(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nncli.core import memory

    monkeypatch.setattr(memory, "available_bytes", lambda device: 1024)
    out = cli("summary", "--model", f"{NETS}:MaskItem", *MASK_ARGS)
    assert out.exit_code == 1
    message = " ".join(out.stderr.split())
    assert "nothing was allocated" in message
    assert "It was needed because forward does not run on meta tensors: Tensor.item() in" in (
        message
    )
    assert "leave attention_mask out" in message


# --- a factory that imports its library when it is called ----------------------------

LAZY = Path(__file__).parent / "models" / "lazy" / "lazy_factory.py"
HELPER = "nncli_lazy_helper"


@pytest.fixture
def fresh_helper():  # type: ignore[no-untyped-def]
    """The helper imported by nobody yet, and forgotten again afterwards."""
    import sys

    sys.modules.pop(HELPER, None)
    path = list(sys.path)
    yield
    assert sys.path == path  # the folder put first for the build is gone again
    sys.modules.pop(HELPER, None)


@pytest.mark.parametrize("name", ["build", "Built"])
def test_a_lazily_imported_sibling_library_is_found_and_left_real(
    cli, fresh_helper, name: str
) -> None:
    """The factory's `import` runs while the model is built, after its file was imported:
    the file's folder is on sys.path then too, and the library is imported off meta, so
    its import-time tensor is the CPU tensor a plain import makes (not a meta one for
    the rest of the process). Parameters: fc 4×2 + 2."""
    import sys

    out = cli("summary", "--model", f"{LAZY}:{name}", "--input-size", "4", "--json")
    assert out.exit_code == 0, out.stderr
    doc = out.json()
    assert doc["built_on"] == "meta" and doc["total_params"] == 4 * 2 + 2
    helper = sys.modules[HELPER]
    assert type(helper).__name__ == "module"  # the library itself, no stand-in
    assert helper.TABLE.device.type == "cpu"
    assert helper.TABLE.tolist() == [1.0, 2.0, 3.0, 4.0]


def test_the_run_of_a_lazy_factory_equals_the_hand_written_call(cli, fresh_helper) -> None:
    out = cli("run", "--model", f"{LAZY}:build", "--input-size", "4", "--batch", "3", "--json")
    assert out.exit_code == 0, out.stderr
    import sys

    torch.manual_seed(0)
    model = sys.modules[HELPER].Scaled().eval()
    x = torch.randn(3, 4)
    with torch.no_grad():
        expected = model(x)
    torch.testing.assert_close(torch.tensor(out.json()["output"]), expected)


def test_lazy_imports_are_read_from_the_source() -> None:
    from nncli.core.model.user.target import lazy_imports
    from tests.models.lazy import lazy_factory

    assert lazy_imports(lazy_factory.build) == [HELPER]
    assert lazy_imports(lazy_factory.Built) == [HELPER, f"{HELPER}.Scaled"]
    assert lazy_imports(len) == []  # no source: nothing to import
