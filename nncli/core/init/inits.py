"""The init registry: the only place a weight-initialisation scheme is defined.

Tensors are always initialised by ``torch.nn.init`` itself; the theory each
scheme should match comes from :mod:`nncli.core.init.theory` (plain math, no torch).
Weights have the shape ``(fan_out, fan_in)``, as ``nn.Linear`` stores them, so
the fans follow torch's convention (``fan_in = weight.shape[1]``,
``fan_out = weight.shape[0]``).

Nothing here imports torch at module level: the CLI reads names and options
from this registry at start-up and during shell completion.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nncli import fmt
from nncli.core.init import theory as th
from nncli.errors import UsageError, unknown_name

if TYPE_CHECKING:
    import torch

Values = dict[str, Any]
TheoryFn = Callable[[int, int, Values], th.Theory]


@dataclass(frozen=True)
class InitParam:
    name: str  # nncli's name: the CLI flag (with '_' -> '-') and the config key
    torch_kw: str  # the keyword torch.nn.init takes
    default: Any  # None means required
    help: str
    choices: tuple[str, ...] = ()

    @property
    def numeric(self) -> bool:
        return not self.choices


def _quote(name: str) -> str:
    return repr(name)


@dataclass(frozen=True)
class InitScheme:
    name: str
    torch_fn: str  # function in torch.nn.init
    description: str
    theory_fn: TheoryFn
    params: tuple[InitParam, ...] = ()
    fixed: tuple[tuple[str, Any], ...] = ()  # torch kwargs nncli sets itself
    check: Callable[[Values], str | None] | None = None  # a message for bad values
    # a message where torch cannot sample these values for n = fan_in·fan_out weights
    sampling_check: Callable[[int, Values], str | None] | None = None
    work_factor: int = 1  # peak memory of initialising, in copies of the tensor

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def resolve_params(
        self, given: dict[str, Any], spell: Callable[[str], str] = _quote
    ) -> dict[str, Any]:
        """Merge user values over defaults; reject parameters the scheme does not take.

        ``spell`` renders a parameter name in messages: ``'mode'`` for config keys,
        ``--mode`` for the CLI.
        """
        for key, value in given.items():
            if value is not None and key not in self.param_names:
                takes = ", ".join(spell(n) for n in self.param_names) or "none"
                raise UsageError(
                    f"{spell(key)} does not apply to init scheme {self.name}; it takes: {takes}"
                )
        values: dict[str, Any] = {}
        for p in self.params:
            value = given.get(p.name)
            value = p.default if value is None else value
            if value is None:
                raise UsageError(f"init scheme {self.name} needs {spell(p.name)} ({p.help})")
            if p.choices:
                if not isinstance(value, str) or value not in p.choices:
                    err = unknown_name(f"{p.name} for {self.name}", str(value), p.choices)
                    err.message = f"{spell(p.name)}: {err.message}"
                    raise err
            else:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise UsageError(f"{spell(p.name)} must be a number, got {value!r}")
                value = float(value)
                if not math.isfinite(value):
                    raise UsageError(f"{spell(p.name)} must be finite, got {value!r}")
                if abs(value) > th.FLOAT32_MAX:
                    raise UsageError(
                        f"{spell(p.name)} must fit in float32, the dtype of the weights "
                        f"(|x| ≤ 3.4e38), got {value:g}"
                    )
            values[p.name] = value
        if self.check is not None:
            problem = self.check(values)
            if problem is not None:
                raise UsageError(
                    f"init scheme {self.name}: {problem.format(**_spelled(spell, values))}"
                )
        return values

    def torch_kwargs(self, values: dict[str, Any]) -> dict[str, Any]:
        kwargs = {p.torch_kw: values[p.name] for p in self.params}
        kwargs.update(dict(self.fixed))
        return kwargs

    def apply(self, tensor: torch.Tensor, values: dict[str, Any] | None = None) -> None:
        """Initialise ``tensor`` in place with ``torch.nn.init`` (no grad is recorded).

        The values are checked against the tensor's fans first (see :meth:`theory`), so
        torch never sees a scheme whose weights would not fit in float32.
        """
        from torch.nn import init

        resolved = self.resolve_params(values or {})
        if tensor.dim() >= 2 and tensor.numel() > 0:  # torch's no-op for empty tensors
            receptive = math.prod(tensor.shape[2:])
            self.theory(tensor.shape[1] * receptive, tensor.shape[0] * receptive, resolved)
        getattr(init, self.torch_fn)(tensor, **self.torch_kwargs(resolved))

    def theory(
        self,
        fan_in: int,
        fan_out: int,
        values: dict[str, Any] | None = None,
        spell: Callable[[str], str] = _quote,
    ) -> th.Theory:
        """What a ``(fan_out, fan_in)`` weight initialised with ``values`` should look like.

        The one check of what only the fans decide: the weights must fit in float32
        (a Xavier bound grows with the gain and shrinks with the fans) and torch must be
        able to sample them. A usage error otherwise, raised before anything is allocated.
        """
        resolved = self.resolve_params(values or {}, spell)
        theory = self.theory_fn(fan_in, fan_out, resolved)
        problem = th.float32_problem(theory)
        if problem is None and self.sampling_check is not None:
            problem = self.sampling_check(fan_in * fan_out, resolved)
        if problem is not None:
            raise UsageError(
                f"init scheme {self.name} with fan_in {fan_in:,} and fan_out {fan_out:,}: "
                f"{problem.format(**_spelled(spell, resolved))}"
            )
        return theory

    def nonlinearity(self, values: dict[str, Any]) -> tuple[str, float] | None:
        """``(nonlinearity, a)`` for the Kaiming schemes, which assume an activation."""
        if "nonlinearity" not in self.param_names:
            return None
        return str(values["nonlinearity"]), float(values["a"])


def _spelled(spell: Callable[[str], str], values: Values) -> dict[str, str]:
    return {f"{k}_flag": spell(k) for k in values} | {
        k: f"{v:g}" for k, v in values.items() if isinstance(v, float)
    }


def _gain_ok(v: Values) -> str | None:
    return "{gain_flag} must be at least 0, got {gain}" if v["gain"] < 0 else None


def _std_ok(v: Values) -> str | None:
    return "{std_flag} must be at least 0, got {std}" if v["std"] < 0 else None


def _uniform_ok(v: Values) -> str | None:
    if v["low"] > v["high"]:
        return "{low_flag} must not exceed {high_flag}, got {low} > {high}"
    return None


def _trunc_ok(v: Values) -> str | None:
    if v["std"] <= 0:
        return "{std_flag} must be greater than 0, got {std}"
    if v["std"] < th.FLOAT32_TINY:
        return "{std_flag} must be at least float32's smallest normal number ≈ 1.2e-38, got {std}"
    if v["a"] >= v["b"]:
        return "the bounds must satisfy {a_flag} < {b_flag}, got {a} and {b}"
    return None


# torch 2.x's trunc_normal_ samples by rejection from U(a, b) where [a, b] holds at most
# this much of N(mean, std²) (its own test, in double). With few candidates kept it
# loops for minutes, and a U(0, 1) draw of exactly 0 then lets through a bad candidate
# often enough to spoil the std. Expected rounds for n weights: (ln n + 1)/acceptance.
TORCH_REJECTION_MASS = 0.3
MAX_REJECTION_ROUNDS = 2000


def _trunc_sampling_ok(n: int, v: Values) -> str | None:
    mean, std, a, b = v["mean"], v["std"], v["a"], v["b"]
    mass = th.Phi((b - mean) / std) - th.Phi((a - mean) / std)  # as torch computes it
    if mass > TORCH_REJECTION_MASS:
        return None
    acceptance = th.trunc_normal_acceptance(mean, std, a, b)
    rounds = (math.log(n) + 1.0) / acceptance if acceptance > 0 else math.inf
    if rounds <= MAX_REJECTION_ROUNDS:
        return None
    return (
        "torch's trunc_normal_ draws candidates from U({a}, {b}) and keeps only "
        f"{fmt.num(acceptance, 3)} of them here, so it would need about {fmt.num(rounds, 2)} "
        f"rounds (at most {MAX_REJECTION_ROUNDS:,} are allowed); narrow [{{a}}, {{b}}] to where "
        "N({mean}, {std}²) has its mass"
    )


def _sparse_ok(v: Values) -> str | None:
    if not 0 <= v["sparsity"] <= 1:
        return "{sparsity_flag} must be between 0 and 1, got {sparsity}"
    return _std_ok(v)


_GAIN = InitParam("gain", "gain", 1.0, "scaling factor")
_KAIMING = (
    InitParam("a", "a", 0.0, "negative slope of the rectifier after this layer (leaky_relu only)"),
    InitParam("mode", "mode", "fan_in", "keep the variance of the forward (fan_in) or backward "
              "(fan_out) pass", ("fan_in", "fan_out")),
    InitParam("nonlinearity", "nonlinearity", "leaky_relu", "the activation that follows",
              th.NONLINEARITIES),
)  # fmt: skip

_ENTRIES = (
    InitScheme("zeros", "zeros_", "every weight 0: no symmetry breaking", th.zeros),
    InitScheme("constant", "constant_", "every weight the same value", th.constant,
               (InitParam("value", "val", None, "the constant"),)),
    InitScheme("normal", "normal_", "N(mean, std²)", th.normal_scheme,
               (InitParam("mean", "mean", 0.0, "mean"), InitParam("std", "std", 1.0, "std")),
               check=_std_ok),
    InitScheme("uniform", "uniform_", "U(low, high)", th.uniform_scheme,
               (InitParam("low", "a", 0.0, "lower bound"),
                InitParam("high", "b", 1.0, "upper bound")), check=_uniform_ok),
    InitScheme("trunc_normal", "trunc_normal_",
               "N(mean, std²) truncated to [a, b] (absolute bounds, as in torch)",
               th.trunc_normal_scheme,
               (InitParam("mean", "mean", 0.0, "mean"), InitParam("std", "std", 1.0, "std"),
                InitParam("a", "a", -2.0, "lower cut-off"),
                InitParam("b", "b", 2.0, "upper cut-off")), check=_trunc_ok,
               sampling_check=_trunc_sampling_ok),
    InitScheme("xavier_uniform", "xavier_uniform_",
               "Glorot & Bengio 2010: U(−b, b), b = gain·√(6/(fan_in + fan_out))",
               th.xavier_uniform, (_GAIN,), check=_gain_ok),
    InitScheme("xavier_normal", "xavier_normal_",
               "Glorot & Bengio 2010: N(0, std²), std = gain·√(2/(fan_in + fan_out))",
               th.xavier_normal, (_GAIN,), check=_gain_ok),
    InitScheme("kaiming_uniform", "kaiming_uniform_",
               "He et al. 2015: U(−b, b), b = gain·√(3/fan)", th.kaiming_uniform, _KAIMING),
    InitScheme("kaiming_normal", "kaiming_normal_",
               "He et al. 2015: N(0, std²), std = gain/√fan", th.kaiming_normal, _KAIMING),
    # torch draws a full normal matrix and QR-factorises it: Q, R and LAPACK's work space.
    InitScheme("orthogonal", "orthogonal_", "a (semi-)orthogonal matrix times gain (Saxe 2013)",
               th.orthogonal, (_GAIN,), check=_gain_ok, work_factor=4),
    InitScheme("sparse", "sparse_",
               "each column has a fraction `sparsity` of zeros, the rest N(0, std²) (Martens 2010)",
               th.sparse,
               (InitParam("sparsity", "sparsity", None, "fraction of zeros per column"),
                InitParam("std", "std", 0.01, "std of the non-zero values")), check=_sparse_ok),
    InitScheme("linear_default", "kaiming_uniform_",
               "what nn.Linear does: kaiming_uniform with a = √5, i.e. std = 1/√(3·fan_in)",
               th.linear_default, fixed=(("a", math.sqrt(5)),)),
)  # fmt: skip

INIT_SCHEMES: dict[str, InitScheme] = {s.name: s for s in _ENTRIES}
FAMILIES: dict[str, tuple[str, ...]] = {
    "xavier": ("xavier_uniform", "xavier_normal"),
    "kaiming": ("kaiming_uniform", "kaiming_normal"),
    "he": ("kaiming_uniform", "kaiming_normal"),
}


def scheme_names(include_families: bool = False) -> list[str]:
    names = list(INIT_SCHEMES)
    return names + list(FAMILIES) if include_families else names


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def get_scheme(name: str) -> InitScheme:
    """One concrete scheme by name; unknown names suggest the closest."""
    key = _key(name)
    if key not in INIT_SCHEMES:
        if key in FAMILIES:
            variants = " or ".join(FAMILIES[key])
            raise UsageError(f"{name!r} is a family of init schemes; name one: {variants}")
        raise unknown_name("init scheme", name, scheme_names())
    return INIT_SCHEMES[key]


def expand(name: str) -> list[InitScheme]:
    """A scheme or a family name ('xavier', 'kaiming', 'he') as concrete schemes."""
    key = _key(name)
    if key in FAMILIES:
        return [INIT_SCHEMES[n] for n in FAMILIES[key]]
    if key not in INIT_SCHEMES:
        raise unknown_name("init scheme", name, scheme_names(include_families=True))
    return [INIT_SCHEMES[key]]


def resolve_all(
    names: list[str], given: dict[str, Any], spell: Callable[[str], str] = _quote
) -> list[tuple[InitScheme, dict[str, Any]]]:
    """Expand every name (families included) and resolve ``given`` against each variant.

    An option applies to the schemes that take it, so ``normal xavier_normal --std 0.1``
    compares N(0, 0.1²) with Xavier; an option that no named scheme takes is an error
    (``xavier --mode fan_in``). The variants of a family take the same options. A
    scheme named twice (``xavier xavier_normal``) is measured once.
    """
    if not names:
        raise UsageError("name at least one init scheme")
    picked: list[tuple[str, InitScheme]] = []
    seen: set[str] = set()
    for name in names:
        for scheme in expand(name):
            if scheme.name not in seen:
                seen.add(scheme.name)
                picked.append((name, scheme))
    for key, value in given.items():
        if value is not None and not any(key in s.param_names for _, s in picked):
            name, scheme = picked[0]
            if len(picked) == 1 or all(n == name for n, _ in picked):
                scheme.resolve_params({key: value}, spell)  # raises with what it takes
            schemes = ", ".join(s.name for _, s in picked)
            raise UsageError(f"{spell(key)} does not apply to any of the init schemes: {schemes}")
    resolved: list[tuple[InitScheme, dict[str, Any]]] = []
    for name, scheme in picked:
        own = {k: v for k, v in given.items() if k in scheme.param_names}
        try:
            resolved.append((scheme, scheme.resolve_params(own, spell)))
        except UsageError as exc:
            if _key(name) in FAMILIES:
                exc.message += f" (from the family {name!r})"
            raise
    return resolved
