"""``nncli loss --pred/--target``: inline numbers and .csv/.npy files become a float64
array, or a usage error that names the option, the value and the rule."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nncli.core.inputs import load_rows, read_rows
from nncli.core.loss.lossinputs import parse_values
from nncli.errors import UsageError


def refusal(text: str, option: str = "--pred") -> str:
    with pytest.raises(UsageError) as info:
        parse_values(text, option)
    assert str(info.value).startswith(option)
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.2,0.7,0.1", [0.2, 0.7, 0.1]),
        ("1", [1.0]),
        (" 1 , -2.5e-3 ,+.5 ", [1.0, -0.0025, 0.5]),
        ("0.2,0.8;0.9,0.1", [[0.2, 0.8], [0.9, 0.1]]),
        ("1;2;3", [[1.0], [2.0], [3.0]]),  # a column: three rows of one value
        (" 1, 2 ;3 ,4 ", [[1.0, 2.0], [3.0, 4.0]]),
        ("1e308", [1e308]),
    ],
)
def test_inline_values(text: str, expected: list) -> None:
    values = parse_values(text, "--pred")
    assert values.dtype == np.float64
    np.testing.assert_array_equal(values, np.array(expected))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "--pred is empty"),
        ("   ", "--pred is empty"),
        ("1,2;", 'row 2 is empty; expected numbers like "0.2,0.7,0.1"'),
        (";", "row 1 is empty"),
        ("1,2;3", "row 2 has 1 value but row 1 has 2; every row needs the same number"),
        ("1,2;3,4,5", "row 2 has 3 values but row 1 has 2"),
        ("1,x", "value 2: 'x' is not a number"),
        ("1,,2", "value 2: an empty value is not a number"),
        ("0.2 0.7", "'0.2 0.7' is not a number; expected numbers like"),
        ("1_000", "'1_000' is not a number"),  # float() would take it
        ("١", "'١' is not a number"),  # and this (Arabic-Indic one)
        ("[1, 2]", "'[1' is not a number"),
        ("1,nan", "value 2: nan is not finite; values must be finite numbers"),
        ("1;-inf", "row 2, value 1: -inf is not finite"),
        ("1e400", "1e400 does not fit in float64"),
        ("data.txt", "'data.txt' is not a number"),
    ],
)
def test_inline_refusals(text: str, expected: str) -> None:
    assert expected in refusal(text)


def test_refusals_name_the_option_and_hint() -> None:
    message = refusal("1,x", "--target")
    assert message.startswith('--target "1,x": value 2')
    assert "separate values with ','" in refusal("0.2 0.7")
    assert "a file must end in .csv or .npy" in refusal("data.txt")
    assert "drop the extra ';'" in refusal("1;")


def test_long_inline_value_is_shortened_in_messages() -> None:
    text = ",".join(["1"] * 100) + ",x"
    message = refusal(text)
    assert len(message) < 300
    assert "'x' is not a number" in message


def write(tmp_path: Path, name: str, content: str | np.ndarray) -> Path:
    path = tmp_path / name
    if isinstance(content, np.ndarray):
        np.save(path, content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("p.csv", "0.2,0.7,0.1\n", [0.2, 0.7, 0.1]),
        ("p.csv", "a,b\n1,2\n3,4\n", [[1.0, 2.0], [3.0, 4.0]]),  # header skipped
        ("p.csv", "# comment\n1\n2\n", [[1.0], [2.0]]),
        ("P.CSV", "5,6\n", [5.0, 6.0]),
        ("p.npy", np.array([1, 2, 3], dtype=np.int64), [1.0, 2.0, 3.0]),
        ("p.npy", np.array([[1.5, 2.0]], dtype=np.float32), [1.5, 2.0]),  # one row: 1-D
        ("p.npy", np.arange(6.0).reshape(3, 2), [[0, 1], [2, 3], [4, 5]]),
    ],
)
def test_files(tmp_path: Path, name: str, content: str | np.ndarray, expected: list) -> None:
    path = write(tmp_path, name, content)
    values = parse_values(str(path), "--target")
    assert values.dtype == np.float64
    np.testing.assert_array_equal(values, np.array(expected, dtype=np.float64))


def test_float64_precision_is_kept_from_files(tmp_path: Path) -> None:
    # run --input reads float32; a loss checks hand calculations in float64
    path = write(tmp_path, "p.csv", "0.1,1e300\n")
    assert parse_values(str(path), "--pred").tolist() == [0.1, 1e300]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("p.csv", "1,2\n3\n", "line 2 has 1 values but line 1 has 2; every row needs the same"),
        ("p.csv", "1,x\n", "line 1, column 2: 'x' is not a number"),
        ("p.csv", "1,nan\n", "line 1, column 2: nan is not finite"),
        ("p.csv", "1,1e400\n", "line 1, column 2: 1e400 does not fit in float64"),
        ("p.csv", "", "contains no rows"),
        ("p.csv", "1,\n", "line 1, column 2: an empty cell is not a number"),
        ("p.npy", np.zeros((2, 2, 2)), "expected a 1-D row or a 2-D array of rows"),
        ("p.npy", np.zeros((2, 0)), "each row has no values"),
        ("p.npy", np.zeros(0), "the row has no values"),
        ("p.npy", np.array([1.0, np.inf]), "row 1, column 2: inf is not finite"),
        ("p.npy", np.array(["a"]), "expected real numbers"),
        ("p.txt", "1,2\n", "unsupported format '.txt'; use .csv or .npy"),
    ],
)
def test_file_refusals(tmp_path: Path, name: str, content: str | np.ndarray, expected: str) -> None:
    path = write(tmp_path, name, content)
    message = refusal(str(path), "--target")
    assert message.startswith(f"--target {path}: ")
    assert expected in message


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    assert refusal(str(missing)) == f"--pred {missing}: no such file"


def test_a_file_named_like_a_number_does_not_hide_the_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("1").write_text("not numbers\n")
    assert parse_values("1", "--target").tolist() == [1.0]


def test_an_existing_file_of_another_format_is_read_as_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("data.txt").write_text("1,2\n")
    assert "--pred data.txt: unsupported format '.txt'" in refusal("data.txt")


def test_run_input_keeps_its_rules(tmp_path: Path) -> None:
    """The shared reader still fixes the width and float32 for ``run --input``."""
    path = write(tmp_path, "x.csv", "1,2\n")
    with pytest.raises(UsageError, match="line 1 has 2 values but the model takes 3 input"):
        load_rows(str(path), 3)
    big = write(tmp_path, "big.csv", "1,1e300,3\n")
    with pytest.raises(UsageError, match=r"--input .*1e300 does not fit in float32"):
        load_rows(str(big), 3)
    assert load_rows(str(write(tmp_path, "ok.csv", "1,2,3\n")), 3).dtype == np.float32
    assert read_rows(str(big), option="--pred", dtype="float64").dtype == np.float64


# --- property tests: any text, any file: an array or a UsageError, nothing else -------

_CELL = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["", " ", "x", "1e400", "nan", "-inf", ".5", "5.", "+1", "1e", "--1"]),
)
_TEXT = st.one_of(
    st.text(alphabet=st.sampled_from(list("0123456789.,;+-eE xn\t")), max_size=30),
    st.lists(st.lists(_CELL, min_size=1, max_size=4), min_size=1, max_size=4).map(
        lambda rows: ";".join(",".join(row) for row in rows)
    ),
    st.text(max_size=20),
)


def _check_array(values: np.ndarray) -> None:
    assert isinstance(values, np.ndarray)
    assert values.dtype == np.float64
    assert values.ndim in (1, 2) and values.size > 0
    assert np.all(np.isfinite(values))


@settings(max_examples=150, deadline=None)
@given(_TEXT)
@example("1,2;3,4")
@example("1e308,-1e308")
@example(";;")
def test_any_inline_text_is_an_array_or_a_usage_error(text: str) -> None:
    try:
        values = parse_values(text, "--pred")
    except UsageError as exc:
        assert str(exc).startswith("--pred")
        return
    _check_array(values)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=2, max_size=2),
        min_size=1,
        max_size=3,
    )
)
def test_inline_round_trip(rows: list[list[float]]) -> None:
    text = ";".join(",".join(repr(v) for v in row) for row in rows)
    values = parse_values(text, "--pred")
    expected = np.array(rows if len(rows) > 1 else rows[0])
    np.testing.assert_array_equal(values, expected)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32, np.int32, np.bool_]),
        shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3),
    )
)
def test_any_npy_is_an_array_or_a_usage_error(tmp_path: Path, array: np.ndarray) -> None:
    path = tmp_path / "a.npy"
    np.save(path, array)
    try:
        values = parse_values(str(path), "--target")
    except UsageError as exc:
        assert str(exc).startswith(f"--target {path}: ")
        return
    _check_array(values)
    np.testing.assert_array_equal(values.reshape(-1), array.astype(np.float64).reshape(-1))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet=st.sampled_from(list("0123456789.,;+-e\n# ax")), max_size=40))
def test_any_csv_is_an_array_or_a_usage_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "a.csv"
    path.write_text(content, encoding="utf-8")
    try:
        values = parse_values(str(path), "--target")
    except UsageError as exc:
        assert str(exc).startswith(f"--target {path}: ")
        return
    _check_array(values)
    assert not any(math.isnan(v) for v in values.reshape(-1))
