"""A package that imports torch._dynamo and sympy in a submodule at import time, as
torchvision and many model libraries do: the reproducer of issue 14.

While nncli put fakes of torch._dynamo and sympy in ``sys.modules`` (until issue 14), a
factory that imported this package got the fakes, and kept them: ``three()`` failed,
and so did every later build in the same process.
"""

from tests.models.uses_torch_internals.helpers import counters, three

__all__ = ["counters", "three"]
