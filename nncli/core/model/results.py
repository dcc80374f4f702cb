"""The results of ``summary`` and ``run``: plain data that render/ turns into tables and JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nncli.core.model.counting import MACS_RULE, MULT_ADDS_RULE

# A softmax output's rows must sum to 1 within this (float32 rounding over a row).
SUM_TOLERANCE = 1e-5


@dataclass
class LayerRow:
    index: int
    name: str
    type: str
    # list[int] for a tensor; nested lists for tuples/lists, {key: shape} for dicts, None
    # for anything else (and for rows of modules that were never called).
    input_shape: Any
    output_shape: Any
    params: int
    param_formula: str
    init: str
    trainable: bool | None  # None: the layer has no parameters of its own
    mult_adds: int
    # The init scheme's parameters as applied (defaults included); {} for PyTorch's
    # default init and for layers without weights.
    init_args: dict[str, Any] = field(default_factory=dict)
    # The tree (issue 10). depth 1 is a child of the model itself; parent is the
    # ``index`` of the enclosing row (None at depth 1). ``shared``: some of this row's
    # parameters were already counted at an earlier row (a module called again, or
    # weights tied to another module); ``params`` then holds only the new ones.
    depth: int = 1
    parent: int | None = None
    shared: bool = False
    kind: str = "module"  # "module", or "function" for a call such as F.relu inside forward
    buffers: int = 0  # buffer elements (BatchNorm's running statistics), counted once
    # Rows deeper than --depth are folded into this one: its params, buffers and
    # mult-adds include theirs; ``folded`` says how many rows that was.
    folded: int = 0
    # Measured compute (issue 17): multiply-accumulates of the aten ops this row ran
    # itself (a container's own calls, not its children's), and flops = 2 × macs.
    # None where nothing was measured (a config's summary). Not compared (``==``): a
    # config's rows from arithmetic equal the hooked pass's rows without them.
    macs: int | None = field(default=None, compare=False)
    flops: int | None = field(default=None, compare=False)


@dataclass
class Memory:
    input: int
    activations: int  # every layer's forward output
    params: int
    buffers: int = 0  # BatchNorm's running statistics and other registered buffers

    @property
    def total(self) -> int:
        return self.input + self.activations + self.params + self.buffers


@dataclass
class SummaryResult:
    model_name: str
    source: str
    device: str
    # Where the weights were: "meta" when none were allocated (a config's summary is
    # computed from its spec; a --model is built on torch's meta device), else the device.
    built_on: str
    input_shape: list[int]
    layers: list[LayerRow]
    total_params: int
    trainable_params: int
    non_trainable_params: int
    mult_adds: int
    memory: Memory
    mult_adds_rule: str = MULT_ADDS_RULE
    classic: str | None = None  # torchsummary's own text, with --classic
    extras: dict[str, Any] = field(default_factory=dict)
    # Issue 10: the user's own nn.Module (--model) and the tree.
    depth: int = 3  # --depth: rows deeper than this are folded into their parent
    buffers: int = 0  # buffer elements, counted once
    # every input's shape and dtype, batch included ("input_shape" is the first one's);
    # named inputs (a dict, or keyword arguments) carry their name
    inputs: list[dict[str, Any]] = field(default_factory=list)
    model_spec: str | None = None  # --model SPEC as given; None for a config
    # Why the model was built for real instead of on the meta device, when it was.
    fallback: str | None = None
    # Measured compute of the whole pass (None: not measured, a config's summary).
    macs: int | None = None
    flops: int | None = None
    macs_rule: str = MACS_RULE


@dataclass
class NamedParam:
    name: str
    shape: list[int]
    values: Any  # a float32 numpy array of that shape


@dataclass
class RunResult:
    model_name: str
    source: str
    device: str
    seed: int
    input_source: str  # "random N(0, 1)" or the --input path
    input_shape: list[int]
    output_shape: list[int]
    output: Any  # float32 numpy array (rows, outputs)
    predictions: Any | None  # int64 numpy array (rows,); None with one output (always 0)
    row_sums: Any  # float32 numpy array (rows,)
    softmax_output: bool  # the last layer is softmax: rows must sum to 1
    sums_to_one: bool | None  # None when the output is not a softmax
    params: list[NamedParam] | None = None
    # run --weights: the checkpoint's Standardization (None: the checkpoint has none),
    # and whether it was applied to the input (to --input rows; random inputs are not).
    standardization: Any | None = None
    standardized_input: bool = False
