"""Which row's output each row of the summary consumed: the data flow of one hooked pass.

``nncli draw`` draws a model's blocks with arrows that follow the data. The arrows come
from the same forward pass the summary runs (:func:`nncli.core.model.hooks.summarize_module`
takes a :class:`FlowTracer`), traced by tensor identity:

* every tensor the pass makes has a *producer*: the rows whose output it is. The model's
  inputs are produced by the inputs themselves; a leaf module's output and a functional
  row's output (``add (+)``, ``torch.cat``) by that row. A container never claims its
  output: the finest producer is a row inside it, so arrows leave from blocks, not from
  the boxes around them;
* a tensor made by an op that has no row (a view, ``torch.flatten`` in a forward whose
  calls are not recorded) inherits the producers of its arguments: the summary's own
  ``TorchFunctionMode`` (public torch API, nothing patched) hands every op's result to
  :meth:`FlowTracer.passthrough`;
* a row's sources are the producers of the tensors it is called with, read before the
  call, so an in-place op (``out += identity``, ``ReLU(inplace=True)``) consumes the
  tensor and then produces the same object again. A leaf that returns its input object
  unchanged (``nn.Identity``) re-produces it the same way: later readers of that tensor
  are drawn from the leaf, which is where the data passed.

Every traced tensor is held until the tracer is dropped, so no ``id()`` is reused during
the pass (on the meta device they cost nothing). Producers are keys: a row's ``index``
(1, 2, ...: the rows at full depth, as :func:`~nncli.core.model.hooks.collect_tree` makes
them) or ``-(k + 1)`` for the model's k-th input tensor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nncli.core.model.results import LayerRow


def input_key(k: int) -> int:
    """The producer key of the model's k-th input tensor."""
    return -(k + 1)


class FlowTracer:
    """Records, during one summary pass, the edges (producer key -> row index).

    After the pass: ``rows`` the rows at full depth (the ledger's own list), ``edges``
    (source key, target row index) in the order first seen, ``inputs`` every input
    tensor's shape, ``outputs`` every output tensor's shape and producer keys.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.rows: list[LayerRow] = []
        self.edges: dict[tuple[int, int], None] = {}  # an ordered set
        self.inputs: list[tuple[int, ...]] = []
        self.outputs: list[tuple[tuple[int, ...], frozenset[int]]] = []
        self._producers: dict[int, frozenset[int]] = {}
        self._keep: list[Any] = []  # every traced tensor: their id()s stay unique
        self._collector: Any = None
        self._tensor: Any = None

    # -- called by hooks._collect and the collector's hooks

    def start(self, collector: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """A new pass (a fallback's real pass starts again): the inputs produce themselves."""
        import torch

        self._reset()
        self._tensor = torch.Tensor
        self._collector = collector
        self.rows = collector.ledger.rows
        for k, tensor in enumerate(self._flatten((args, kwargs))):
            self.inputs.append(tuple(tensor.shape))
            self._set(tensor, frozenset({input_key(k)}))

    def entered(self, row: LayerRow | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """A module's pre-hook: its row consumes what produced its inputs."""
        if row is not None:
            for source in sorted(self.sources(args, kwargs)):
                self.edges[(source, row.index)] = None

    def left(self, row: LayerRow | None, leaf: bool, root: bool, output: Any) -> None:
        """A module's post-hook: a leaf produces its output; the model's is the graph's."""
        if leaf and row is not None:
            self._claim(row.index, output)
        if root:
            self.outputs = [
                (tuple(t.shape), self._producers.get(id(t), frozenset()))
                for t in self._flatten(output)
            ]

    def sources(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> frozenset[int]:
        """The producers of every tensor in a call's arguments."""
        found: set[int] = set()
        for tensor in self._flatten((args, kwargs)):
            found.update(self._producers.get(id(tensor), ()))
        return frozenset(found)

    def produced(self, index: int, sources: frozenset[int] | None, result: Any) -> None:
        """A functional row ``index``: it consumed ``sources`` and produced ``result``."""
        for source in sorted(sources or ()):
            self.edges[(source, index)] = None
        self._claim(index, result)

    # -- every torch function of the pass (hooks' compute mode calls it)

    def passthrough(self, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> None:
        collector = self._collector
        # Inside a leaf, the leaf claims its output; inside our hooks, nothing is data.
        if collector.busy or not collector.stack or collector.stack[-1].leaf:
            return
        if isinstance(result, self._tensor):
            made = [result]
        elif isinstance(result, (tuple, list)):
            made = [t for t in result if isinstance(t, self._tensor)]
        else:
            return
        if made and (sources := self.sources(args, kwargs)):
            for tensor in made:
                self._set(tensor, sources)

    # -- helpers

    def _claim(self, index: int, value: Any) -> None:
        mine = frozenset({index})
        for tensor in self._flatten(value):
            self._set(tensor, mine)

    def _set(self, tensor: Any, producers: frozenset[int]) -> None:
        self._producers[id(tensor)] = producers
        self._keep.append(tensor)

    def _flatten(self, value: Any) -> list[Any]:
        """The tensors in a nested value, in order (dicts by their values)."""
        found: list[Any] = []
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, self._tensor):
                found.append(item)
            elif isinstance(item, (tuple, list)):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                stack.extend(reversed(list(item.values())))
        return found
