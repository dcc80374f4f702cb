"""init-stats input bounds, checks that can fail, and the scale warning's prediction."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from nncli.core.activation.activations import get_activation
from nncli.core.init import theory as th
from nncli.core.init.inits import INIT_SCHEMES, get_scheme
from nncli.core.init.initstats import Empirical, compare, scheme_warnings, std_measurable
from nncli.core.init.propagation import propagate
from nncli.errors import UsageError
from tests.conftest import Invoke


def usage_error(out: object, *fragments: str) -> None:
    assert out.exit_code == 2, (out.stdout, out.stderr)  # type: ignore[attr-defined]
    stderr = out.stderr  # type: ignore[attr-defined]
    assert stderr.startswith("Error:") and "Traceback" not in stderr
    assert not stderr.startswith("Error: ") or ": " in stderr
    for fragment in fragments:
        assert fragment in stderr, stderr


# --- item 4: a std check that cannot fail is not a check ----------------------------------


def test_one_value_has_no_measurable_std(cli: Invoke) -> None:
    res = cli("init-stats", "kaiming_normal", "--fan-in", "1", "--fan-out", "1", "--json")
    check = res.json()["results"][0]["check"]
    assert check["std_measurable"] is False
    assert "std not measurable from 1 value" in check["verdict"]
    table = cli("init-stats", "kaiming_normal", "--fan-in", "1", "--fan-out", "1").stdout
    assert "n/a" in table and "not measurable" in table


def test_the_std_is_measured_exactly_where_a_zero_std_would_fail() -> None:
    theory = th.normal(0.0, 1.0, "N(0, 1)")
    zero = Empirical(mean=0.0, std=0.0, min=0.0, max=0.0)
    for n in (1, 2, 12, 13, 50, 10_000):
        tolerance = theory.std_tolerance(n)
        assert std_measurable(theory, n) == (n >= 2 and tolerance < 1)
        if std_measurable(theory, n):
            verdict = compare(theory, zero, n)
            assert not verdict.ok and "std off by -100.00%" in verdict.verdict
    assert not std_measurable(theory, 12) and std_measurable(theory, 13)  # 5·√(2/4n) < 1
    assert not std_measurable(th.point(0.5, "w = 0.5"), 1)


def test_mean_and_bounds_are_still_checked_for_one_value() -> None:
    theory = th.uniform(-1.0, 1.0, "U(-1, 1)")
    outside = Empirical(mean=2.0, std=0.0, min=2.0, max=2.0)
    verdict = compare(theory, outside, 1)
    assert not verdict.ok and "outside [-1, 1]" in verdict.verdict


# --- item 26: integers and seeds ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--seed", "-1"], "--seed must be an integer from 0 to 2**64 - 1, got -1"),
        (["--seed", "18446744073709551616"], "--seed must be an integer from 0 to 2**64 - 1"),
        (["--fan-in", "2147483648"], "--fan-in must be at most 2,147,483,647"),
        (["--fan-out", "9223372036854775808"], "--fan-out must be at most"),
        (["--depth", "2147483648"], "--depth must be at most"),
        (["--depth", "2", "--batch", "2147483648"], "--batch must be at most"),
    ],
)
def test_integers_are_bounded(cli: Invoke, args: list[str], fragment: str) -> None:
    usage_error(cli("init-stats", "xavier", *args), fragment)


def test_largest_seed_is_accepted(cli: Invoke) -> None:
    out = cli("init-stats", "xavier_normal", "--seed", str(2**64 - 1), "--fan-in", "8")
    assert out.exit_code == 0, out.stderr


# --- item 28: parameters whose weights do not fit in float32 --------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["constant", "--value", "1e39"], "--value must fit in float32"),
        (["normal", "--std", "1e300"], "--std must fit in float32"),
        (["uniform", "--high", "1e39"], "--high must fit in float32"),
        (["trunc_normal", "--b", "1e308"], "--b must fit in float32"),
        (["kaiming_uniform", "--a", "-1e300"], "--a must fit in float32"),
        (["xavier_uniform", "--gain", "1.7976931348623157e308"], "--gain must fit in float32"),
        (["normal", "--std", "1e38"], "|mean| + 10·std = 1e+39"),
        (["uniform", "--low", "-3e38", "--high", "3e38"], "width 6e+38"),
        (
            ["xavier_uniform", "--gain", "3e38", "--fan-in", "1", "--fan-out", "1"],
            "reach 5.196e+38",
        ),
        (["normal", "--std", "1e-40"], "below float32's smallest normal"),
        (["normal", "--mean", "1e30"], "below the spacing of float32 numbers"),
        (["normal", "--std", "nan"], "--std must be finite"),
        (["constant", "--value", "inf"], "--value must be finite"),
        (["trunc_normal", "--a", "1", "--b", "1000"], "keeps only"),
    ],
)
def test_weights_that_do_not_fit_are_usage_errors(
    cli: Invoke, args: list[str], fragment: str
) -> None:
    usage_error(cli("init-stats", *args), fragment)


def test_a_fans_dependent_bound_is_checked_for_the_depth_stack(cli: Invoke) -> None:
    # fits at (fan_out, fan_in) = (4096, 1), not for the 1 × 1 layers of the stack
    args = ["init-stats", "xavier_uniform", "--gain", "1e38", "--fan-in", "1", "--fan-out", "4096"]
    assert cli(*args).exit_code == 0
    usage_error(cli(*args, "--depth", "2"), "fan_in 1 and fan_out 1", "float32")


def test_apply_checks_against_the_tensors_own_fans() -> None:
    scheme = get_scheme("xavier_uniform")
    with pytest.raises(UsageError, match="float32"):
        scheme.apply(torch.empty(1, 1), {"gain": 3e38})
    scheme.apply(torch.empty(4096, 4096), {"gain": 3e38})  # bound 2.9e36: fits


@pytest.mark.parametrize("name", sorted(INIT_SCHEMES))
def test_every_resolved_scheme_fits_at_its_smallest_fans(name: str) -> None:
    """Defaults never trip the check (fans 1 × 1 give the largest Xavier/Kaiming bound)."""
    scheme = INIT_SCHEMES[name]
    given = {"value": 0.5, "sparsity": 0.5}
    values = scheme.resolve_params({k: v for k, v in given.items() if k in scheme.param_names})
    theory = scheme.theory(1, 1, values)
    assert th.float32_problem(theory) is None


def _config(tmp_path: Path, init: str, args: str) -> str:
    path = tmp_path / "big.toml"
    path.write_text(
        f'input_features = 2\n[[layers]]\nout_features = 2\ninit = "{init}"\n'
        f"init_args = {{ {args} }}\n"
    )
    return str(path)


@pytest.mark.parametrize(
    ("command", "init", "args"),
    [
        (["run"], "constant", "value = 1e39"),
        (["summary", "--classic"], "uniform", "high = 1e39"),
        (["summary"], "kaiming_uniform", "a = -1e+300"),
    ],
)
def test_configs_go_through_the_same_check(
    cli: Invoke, tmp_path: Path, command: list[str], init: str, args: str
) -> None:
    out = cli(*command, "--config", _config(tmp_path, init, args))
    usage_error(out, "must fit in float32")


# --- item 6: the warning predicts what the stack measures -----------------------------------


def test_relu_warning_predicts_the_measured_rate() -> None:
    scheme = get_scheme("normal")
    values = scheme.resolve_params({"std": 1.0})
    relu = get_activation("relu")
    warning = scheme_warnings(scheme, values, scheme.theory(256, 256, values), 256, relu)
    # √256·1·(1/√2) = 11.31, from E[relu(z)²] = E[z²]/2
    assert any("= 11.3," in w and "relu" in w and "explode" in w for w in warning), warning
    prop = propagate(scheme, values, relu, width=256, depth=8, batch=256, seed=0)
    assert prop.activation_factor == pytest.approx(16 / math.sqrt(2), rel=0.05)


def test_linear_prediction_without_an_activation_says_so() -> None:
    scheme = get_scheme("normal")
    values = scheme.resolve_params({"std": 1.0})
    warning = scheme_warnings(scheme, values, scheme.theory(256, 256, values), 256, None)
    assert any("√256·1 = 16" in w and "linear layers" in w for w in warning), warning


def test_tanh_saturates_rather_than_explodes() -> None:
    scheme = get_scheme("normal")
    values = scheme.resolve_params({"std": 1.0})
    tanh = get_activation("tanh")
    warning = scheme_warnings(scheme, values, scheme.theory(256, 256, values), 256, tanh)
    assert warning and all("explode" not in w for w in warning)
    assert any("saturate" in w for w in warning)
    prop = propagate(scheme, values, tanh, width=256, depth=6, batch=128, seed=0)
    assert prop.verdict == "saturated"


# --- item 10: the progress bar belongs to the depth experiment ------------------------------


def test_progress_bar_only_with_depth(cli: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    from nncli.render import progress as progress_module

    opened: list[str] = []

    @contextlib.contextmanager
    def spy(description: str):  # type: ignore[no-untyped-def]
        opened.append(description)
        yield None

    monkeypatch.setattr(progress_module, "progress", spy)
    assert cli("init-stats", "xavier", "--fan-in", "8").exit_code == 0
    assert opened == []
    assert cli("init-stats", "xavier", "--fan-in", "8", "--depth", "2").exit_code == 0
    assert opened == ["depth propagation"]


def test_torch_warnings_are_relayed_once_never_raw(cli: Invoke) -> None:
    out = cli("init-stats", "trunc_normal", "--a", "7", "--b", "8", "--fan-in", "16",
              "--depth", "2", "--batch", "4")  # fmt: skip
    assert out.exit_code == 0, out.stderr
    assert "UserWarning" not in out.stderr
    assert out.stderr.count("torch warns: mean is more than 2 std from [a, b]") == 1
