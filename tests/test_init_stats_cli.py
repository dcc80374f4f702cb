"""`nncli init-stats` end to end: table, JSON, warnings, figures and every error path."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nncli.core.init.inits import INIT_SCHEMES
from tests.conftest import Invoke, Outcome


def ok(outcome: Outcome) -> Outcome:
    assert outcome.exit_code == 0, outcome.stderr
    return outcome


def usage_error(outcome: Outcome, *fragments: str) -> None:
    assert outcome.exit_code == 2, (outcome.stdout, outcome.stderr)
    assert outcome.stderr.startswith("Error:")
    assert "Traceback" not in outcome.stderr and outcome.stdout == ""
    for fragment in fragments:
        assert fragment in outcome.stderr


def test_table_shows_theory_measurement_and_verdict(cli: Invoke) -> None:
    out = ok(cli("init-stats", "kaiming_normal", "--fan-in", "512", "--nonlinearity", "relu"))
    assert "kaiming_normal" in out.stdout
    assert "std = √2/√512 = 0.0625" in out.stdout
    assert "0.0625" in out.stdout and "ok" in out.stdout
    assert "\x1b[" not in out.stdout  # no ANSI when stdout is not a terminal


def test_json_document(cli: Invoke) -> None:
    doc = ok(cli("init-stats", "xavier", "--fan-in", "300", "--fan-out", "100", "--json")).json()
    assert doc["schema_version"] == 1 and doc["command"] == "init-stats"
    assert doc["device"] == "cpu"
    assert [r["scheme"] for r in doc["results"]] == ["xavier_uniform", "xavier_normal"]
    for res in doc["results"]:
        assert {"scheme", "fan_in", "fan_out", "params", "theory", "empirical", "warnings"} <= set(
            res
        )
        assert set(res["theory"]) >= {"mean", "std", "bound", "gain"}
        assert set(res["empirical"]) == {"mean", "std", "min", "max"}
        assert res["fan_in"] == 300 and res["fan_out"] == 100
        assert res["theory"]["std"] == pytest.approx(math.sqrt(2 / 400))
        assert res["check"]["ok"] is True
        assert "layers" not in res
    uniform = doc["results"][0]
    assert uniform["theory"]["bound"] == pytest.approx(math.sqrt(6 / 400))
    assert uniform["options"] == {"gain": 1.0}
    assert uniform["params"] == 300 * 100


def test_empirical_figures_match_torch(cli: Invoke) -> None:
    """Independent reference: the same seed through torch.nn.init and float64 statistics."""
    res = ok(cli("init-stats", "kaiming_uniform", "--seed", "11", "--fan-in", "70", "--json"))
    got = res.json()["results"][0]["empirical"]
    torch.manual_seed(11)
    w = torch.nn.init.kaiming_uniform_(torch.empty(256, 70)).double()
    assert got["mean"] == pytest.approx(w.mean().item(), abs=1e-7)
    assert got["std"] == pytest.approx(w.std(correction=0).item(), rel=1e-5)
    assert (got["min"], got["max"]) == (w.min().item(), w.max().item())


def test_same_seed_same_numbers(cli: Invoke) -> None:
    args = ("init-stats", "orthogonal", "normal", "--fan-in", "40", "--json")
    a, b = ok(cli(*args, "--seed", "3")).json(), ok(cli(*args, "--seed", "3")).json()
    c = ok(cli(*args, "--seed", "4")).json()
    assert a == b
    assert a["results"][1]["empirical"] != c["results"][1]["empirical"]


def test_a_scheme_does_not_depend_on_its_neighbours(cli: Invoke) -> None:
    alone = ok(cli("init-stats", "xavier_normal", "--json")).json()["results"][0]
    shared = ok(cli("init-stats", "xavier", "--json")).json()["results"][1]
    assert alone["empirical"] == shared["empirical"]


def test_symmetry_warning_for_zeros_and_constant(cli: Invoke) -> None:
    out = ok(cli("init-stats", "zeros"))
    assert "Warning:" in out.stderr and "symmetry is never broken" in out.stderr
    doc = ok(cli("init-stats", "constant", "--value", "0.2", "--json")).json()
    res = doc["results"][0]
    assert any("same function" in w for w in res["warnings"])
    assert res["check"]["std_rel_error"] is None and res["check"]["ok"] is True


def test_explode_warning_for_unit_normal_on_a_large_fan_in(cli: Invoke) -> None:
    res = ok(cli("init-stats", "normal", "--fan-in", "1024", "--json")).json()["results"][0]
    assert any("explode" in w and "√1024" in w for w in res["warnings"])
    quiet = ok(cli("init-stats", "kaiming_normal", "--json")).json()["results"][0]
    assert quiet["warnings"] == []


def test_kaiming_nonlinearity_mismatch(cli: Invoke) -> None:
    res = ok(cli("init-stats", "kaiming_normal", "--activation", "tanh", "--json")).json()
    warnings = res["results"][0]["warnings"]
    assert any("leaky_relu" in w and "tanh" in w and "--nonlinearity tanh" in w for w in warnings)
    # torch's default (leaky_relu with a = 0) is relu's gain: no warning
    res = ok(cli("init-stats", "kaiming", "--activation", "relu", "--json")).json()
    assert all(r["warnings"] == [] for r in res["results"])
    res = ok(
        cli(
            "init-stats",
            "kaiming_normal",
            "--nonlinearity",
            "tanh",
            "--activation",
            "tanh",
            "--json",
        )
    )
    assert res.json()["results"][0]["warnings"] == []


def test_depth_json_layers(cli: Invoke) -> None:
    doc = ok(
        cli("init-stats", "xavier_normal", "kaiming_normal", "--depth", "12", "--fan-in", "128",
            "--batch", "64", "--json")
    ).json()  # fmt: skip
    assert doc["activation"] == "relu" and doc["depth"] == 12 and doc["batch"] == 64
    for res in doc["results"]:
        assert len(res["layers"]) == 12
        assert set(res["layers"][0]) == {
            "layer", "activation_mean", "activation_std", "saturated_fraction",
            "dead_fraction", "nonfinite_fraction", "grad_std", "grad_finite",
        }  # fmt: skip
    xavier, kaiming = doc["results"]
    assert xavier["propagation"]["verdict"] == "vanishing"
    assert kaiming["propagation"]["verdict"] == "stable"


def test_depth_table_and_overflow_is_reported(cli: Invoke) -> None:
    out = ok(cli("init-stats", "normal", "--fan-in", "1024", "--depth", "40", "--batch", "4"))
    assert "exploding" in out.stdout and "overflow to inf/NaN" in out.stdout
    doc = ok(cli("init-stats", "normal", "--fan-in", "1024", "--depth", "40", "--batch", "4",
                 "--json")).json()  # fmt: skip
    last = doc["results"][0]["layers"][-1]
    assert last["activation_std"] is None  # inf/NaN become null, never invalid JSON


def test_hist_and_plot_files(cli: Invoke, tmp_path: Path) -> None:
    hist, plot = tmp_path / "h.png", tmp_path / "p.svg"
    ok(cli("init-stats", "xavier", "--hist", str(hist), "--fan-in", "64", "--fan-out", "32"))
    assert hist.read_bytes().startswith(b"\x89PNG")
    ok(cli("init-stats", "xavier_normal", "kaiming_normal", "normal", "--depth", "5",
           "--fan-in", "32", "--batch", "16", "--plot", str(plot)))  # fmt: skip
    assert b"<svg" in plot.read_bytes()[:2000]
    assert not list(tmp_path.glob(".*.tmp*"))


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header.startswith(b"\x89PNG")
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


SMALL_DEPTH = ("--fan-in", "16", "--fan-out", "16", "--depth", "3", "--batch", "8")


def test_dpi_sets_the_pixel_size_of_both_figures(cli: Invoke, tmp_path: Path) -> None:
    sizes = {}
    for dpi in ("50", "150"):
        hist, plot = tmp_path / f"h{dpi}.png", tmp_path / f"p{dpi}.png"
        ok(cli("init-stats", "normal", *SMALL_DEPTH, "--hist", str(hist), "--plot", str(plot),
               "--dpi", dpi))  # fmt: skip
        sizes[dpi] = (png_size(hist), png_size(plot))
    (hist50, plot50), (hist150, plot150) = sizes["50"], sizes["150"]
    assert hist50 != hist150 and plot50 != plot150
    # The figures' inches times the dpi (constrained layout never changes the canvas).
    assert hist150 == (960, 660) and hist50 == (320, 220)
    assert plot150 == (1800, 750) and plot50 == (600, 250)


def test_show_without_display_warns_once_and_saves(cli: Invoke, tmp_path: Path) -> None:
    hist, plot = tmp_path / "h.png", tmp_path / "p.png"
    out = ok(cli("init-stats", "normal", *SMALL_DEPTH, "--hist", str(hist), "--plot", str(plot),
                 "--show", env={"DISPLAY": None, "WAYLAND_DISPLAY": None}))  # fmt: skip
    assert out.stderr.count("--show: no display found") == 1, out.stderr
    assert hist.exists() and plot.exists()


def test_show_with_a_display_opens_one_window_per_figure(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from nncli.render import figures
    from tests.test_plot_cli import FakePyplot

    fake = FakePyplot()
    monkeypatch.setattr(figures, "has_display", lambda: True)
    monkeypatch.setattr(figures, "pyplot", lambda show=False: fake)
    hist, plot = tmp_path / "h.png", tmp_path / "p.svg"
    out = ok(cli("init-stats", "normal", *SMALL_DEPTH, "--hist", str(hist), "--plot", str(plot),
                 "--show"))  # fmt: skip
    assert fake.shown == 2 and out.stderr.count("saved") == 2
    assert hist.exists() and plot.exists()  # saved before any window is tried
    fake = FakePyplot(fail=True)
    out = ok(cli("init-stats", "normal", "--hist", str(hist), "--show"))
    assert fake.shown == 0 and "could not open a window" in out.stderr


def test_hist_for_point_masses(cli: Invoke, tmp_path: Path) -> None:
    hist = tmp_path / "h.png"
    ok(cli("init-stats", "zeros", "sparse", "--sparsity", "0.5", "--hist", str(hist),
           "--fan-in", "16", "--fan-out", "16"))  # fmt: skip
    assert hist.stat().st_size > 1000


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["xavir"], ["unknown init scheme 'xavir'", "did you mean xavier?"]),
        (["normal", "--fan-in", "0"], ["--fan-in must be at least 1, got 0"]),
        (["normal", "--fan-out", "-3"], ["--fan-out must be at least 1, got -3"]),
        (["xavier", "--mode", "fan_in"], ["--mode does not apply to init scheme xavier_uniform"]),
        (["normal", "--gain", "2"], ["--gain does not apply to init scheme normal"]),
        (["kaiming", "--mode", "fan_up"], ["unknown mode", "fan_up", "did you mean fan_out?"]),
        (["kaiming", "--nonlinearity", "rleu"], ["unknown nonlinearity", "rleu"]),
        (["normal", "--depth", "0"], ["--depth must be at least 1, got 0"]),
        (
            ["normal", "--depth", "2", "--activation", "rellu"],
            ["unknown activation 'rellu'", "did you mean relu?"],
        ),
        (["normal", "--activation", "rellu"], ["unknown activation 'rellu'"]),
        (["normal", "--depth", "2", "--activation", "softmax"], ["not element-wise"]),
        (["normal", "--plot", "x.png"], ["--plot only applies", "--depth"]),
        (["normal", "--batch", "8"], ["--batch only applies"]),
        (["normal", "--depth", "2", "--batch", "0"], ["--batch must be at least 1, got 0"]),
        (["normal", "--hist", "x.txt"], ["'.txt'", ".png"]),
        (["normal", "--hist", "x.png", "--dpi", "5"], ["--dpi must be between 10 and 1200, got 5"]),
        (["normal", "--show"], ["--show only applies to the figures", "--hist FILE"]),
        (["sparse"], ["needs --sparsity"]),
        (["uniform", "--low", "2"], ["--low must not exceed --high"]),
        (["normal", "--device", "tpu"], ["unknown device 'tpu'"]),
        ([], ["Missing argument"]),
    ],
)
def test_usage_errors_exit_2(cli: Invoke, args: list[str], fragments: list[str]) -> None:
    usage_error(cli("init-stats", *args), *fragments)


def test_missing_directory_is_a_runtime_failure(cli: Invoke, tmp_path: Path) -> None:
    out = cli("init-stats", "normal", "--hist", str(tmp_path / "nope" / "h.png"))
    assert out.exit_code == 1 and out.stderr.startswith("Error:") and "does not exist" in out.stderr


def test_huge_fans_are_refused_before_allocating(cli: Invoke) -> None:
    out = cli("init-stats", "kaiming_normal", "--fan-in", "1000000", "--fan-out", "1000000")
    assert out.exit_code == 1
    assert out.stderr.startswith("Error:") and "Traceback" not in out.stderr
    assert "3.64 TiB" in out.stderr and "nothing was allocated" in out.stderr


def test_memory_limit_env_refuses_with_the_estimate(cli: Invoke) -> None:
    out = cli("init-stats", "normal", "--fan-in", "1024", "--fan-out", "1024",
              env={"NNCLI_MEMORY_LIMIT": str(4 * 1024 * 1024 - 1)})  # fmt: skip
    assert out.exit_code == 1 and "4.00 MiB" in out.stderr
    ok(cli("init-stats", "normal", "--fan-in", "1024", "--fan-out", "1024",
           env={"NNCLI_MEMORY_LIMIT": str(4 * 1024 * 1024)}))  # fmt: skip
    # orthogonal needs room for torch's QR as well
    out = cli("init-stats", "orthogonal", "--fan-in", "1024", "--fan-out", "1024",
              env={"NNCLI_MEMORY_LIMIT": str(4 * 1024 * 1024)})  # fmt: skip
    assert out.exit_code == 1 and "16.00 MiB" in out.stderr
    out = cli("init-stats", "normal", "--depth", "100", "--fan-in", "1024",
              env={"NNCLI_MEMORY_LIMIT": str(100 * 1024 * 1024)})  # fmt: skip
    assert out.exit_code == 1 and "--depth 100" in out.stderr


def _value_for(option: str) -> str:
    return {"mode": "fan_out", "nonlinearity": "relu", "b": "3", "sparsity": "0.5",
            "value": "0.5"}.get(option, "0.5")  # fmt: skip


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    name=st.sampled_from(sorted(INIT_SCHEMES)),
    option=st.sampled_from(
        [
            "value",
            "mean",
            "std",
            "low",
            "high",
            "a",
            "b",
            "gain",
            "mode",
            "nonlinearity",
            "sparsity",
        ]
    ),
)
def test_cli_accepts_an_option_exactly_when_the_scheme_takes_it(
    cli: Invoke, name: str, option: str
) -> None:
    scheme = INIT_SCHEMES[name]
    args = ["init-stats", name, "--fan-in", "8", "--fan-out", "8", "--json"]
    required = [p.name for p in scheme.params if p.default is None and p.name != option]
    for req in required:
        args += [f"--{req}", _value_for(req)]
    out = cli(*args, f"--{option}", _value_for(option))
    if option in scheme.param_names:
        assert out.exit_code == 0, out.stderr
        got = out.json()["results"][0]["options"][option]
        want = _value_for(option)
        assert got == (want if option in ("mode", "nonlinearity") else float(want))
    else:
        usage_error(out, f"--{option} does not apply to init scheme {name}")
