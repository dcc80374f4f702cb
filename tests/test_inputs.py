"""``run --input``: every bad .csv or .npy file is a usage error naming file, row and column."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nncli.core.inputs import FLOAT32_MAX, load_rows, read_header, read_rows
from nncli.core.model.user.inputs import read_npy_header
from nncli.errors import UsageError

FEATURES = 3  # the demo model's input features


def write(tmp_path: Path, name: str, content: str | bytes | np.ndarray) -> Path:
    path = tmp_path / name
    if isinstance(content, np.ndarray):
        with path.open("wb") as f:
            np.save(f, content, allow_pickle=True)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def refusal(path: Path, features: int = FEATURES) -> str:
    with pytest.raises(UsageError) as info:
        load_rows(str(path), features)
    message = info.value.message
    assert message.startswith(f"--input {path}: ")
    return message.removeprefix(f"--input {path}: ")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # issue 7, item 13: the only line is not all numbers, so it is no header
        ("1,2,x\n", "line 1, column 3: 'x' is not a number"),
        ("a,b,c\n", "contains no rows (line 1 is taken as a header)"),
        ("a,b,c\n1,2,x\n", "line 2, column 3: 'x' is not a number"),
        ("1,,3\n", "line 1, column 2: an empty cell is not a number"),
        ("1,2,3,\n", "line 1 has 4 values but the model takes 3 input features"),
        ("# rows\n\n1,2,3\n4,5\n", "line 4 has 2 values but the model takes 3 input features"),
        ("1,2,1_000\n", "line 1, column 3: '1_000' is not a number"),  # float() takes it
        ("1,2,١\n", "line 1, column 3: '١' is not a number"),  # so does this
        ("1,2,nan\n", "line 1, column 3: nan is not finite"),
        ("1,2,3\n4,-inf,6\n", "line 2, column 2: -inf is not finite"),
        # issue 7, item 28: float32 overflow is refused like NaN, not passed on as inf
        ("1,2,1e300\n", "line 1, column 3: 1e300 does not fit in float32"),
        ("1,2,1e400\n", "line 1, column 3: 1e400 does not fit in float32"),  # inf as a float
        ("1,2,3.4028236e38\n", "line 1, column 3: 3.4028236e38 does not fit in float32"),
        ("", "contains no rows"),
        ("# only a comment\n\n", "contains no rows"),
    ],
)
def test_bad_csv_names_the_line_and_column(tmp_path: Path, content: str, expected: str) -> None:
    assert refusal(write(tmp_path, "rows.csv", content)).startswith(expected)


def test_csv_that_is_not_utf8(tmp_path: Path) -> None:
    assert "is not UTF-8 text (byte 4" in refusal(write(tmp_path, "r.csv", b"1,2,\xff\n"))


def test_csv_header_bom_crlf_and_largest_float32_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "\ufeffx, y ,z\r\n1, -2.5e0 ,3.4028235e38\r\n.5,+1,-0\r\n")
    rows = load_rows(str(path), FEATURES)
    assert rows.dtype == np.float32
    assert rows.tolist() == [[1, -2.5, float(np.float32(3.4028235e38))], [0.5, 1, 0]]
    assert float(rows[0, 2]) == FLOAT32_MAX


NPY_CASES = [
    (np.zeros((2, 3), dtype=complex), "expected real numbers, got dtype complex128"),
    (np.array([["a", "b", "c"]]), "expected real numbers, got dtype <U1"),
    (np.zeros((2, 3), dtype=bool), "expected real numbers, got dtype bool"),
    (np.array([[1, 2, None]], dtype=object), "expected real numbers, got dtype object"),
    (np.zeros(2, dtype=[("a", "f4"), ("b", "f4")]), "expected real numbers, got dtype"),
    (np.zeros((2, 3, 1)), "expected a 1-D row or a 2-D array of rows, got shape [2, 3, 1]"),
    (np.array(5.0), "expected a 1-D row or a 2-D array of rows, got shape []"),
    (np.zeros((0, 3)), "contains no rows"),
    (np.zeros((2, 4)), "each row has 4 values but the model takes 3 input features"),
    (np.zeros(2), "the row has 2 values but the model takes 3 input features"),
    (np.array([[1.0, 2.0, 3.0], [4.0, np.nan, 6.0]]), "row 2, column 2: nan is not finite"),
    (np.array([[1.0, 2.0, np.inf]]), "row 1, column 3: inf is not finite"),
    (np.array([[1.0, 2.0, 1e300]]), "row 1, column 3: 1e+300 does not fit in float32"),
]


@pytest.mark.parametrize(("array", "expected"), NPY_CASES)
def test_bad_npy_names_the_rule(tmp_path: Path, array: np.ndarray, expected: str) -> None:
    assert refusal(write(tmp_path, "rows.npy", array)).startswith(expected)


def test_npy_that_is_no_npy_is_refused_before_numpy_reads_it(tmp_path: Path) -> None:
    # issue 7, item 25: a 0-byte file exited 130 ("interrupted", an EOFError taken for
    # Ctrl-C) and an .npz archive raised BadZipFile.
    assert refusal(write(tmp_path, "e.npy", b"")).startswith("empty file (0 bytes)")
    archive = io.BytesIO()
    np.savez(archive, a=np.zeros((2, 3)))
    assert refusal(write(tmp_path, "z.npy", archive.getvalue())).startswith(
        "not a .npy file: it is an .npz archive"
    )
    assert refusal(write(tmp_path, "t.npy", b"1,2,3\n")).startswith("not a .npy file")
    assert refusal(write(tmp_path, "h.npy", b"\x93NUMPY\x01\x00junk")).startswith(
        "not a valid .npy header"
    )
    assert refusal(write(tmp_path, "v.npy", b"\x93NUMPY\x07\x00")).startswith(
        "unsupported .npy format version 7.0"
    )


def test_truncated_npy_is_refused_before_loading(tmp_path: Path) -> None:
    whole = io.BytesIO()
    np.save(whole, np.zeros((4, 3)))
    path = write(tmp_path, "cut.npy", whole.getvalue()[:-10])
    assert refusal(path) == (
        "is truncated: its header promises 96 bytes of float64 data, the file holds 86"
    )


@pytest.mark.parametrize("dtype", ["<f8", ">f8", "<f2", "<i8", ">u2", "<f4"])
def test_npy_numbers_of_any_real_dtype_and_order_load_exactly(tmp_path: Path, dtype: str) -> None:
    data = np.asfortranarray(np.arange(6).reshape(2, 3).astype(dtype))
    rows = load_rows(str(write(tmp_path, "ok.npy", data)), FEATURES)
    assert rows.dtype == np.float32 and rows.flags.c_contiguous
    assert rows.tolist() == [[0, 1, 2], [3, 4, 5]]


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("empty.npy", b"", "empty file (0 bytes)"),
        ("only.csv", "1,2,x\n", "line 1, column 3: 'x' is not a number"),
        ("big.csv", "1,2,1e300\n", "line 1, column 3: 1e300 does not fit in float32"),
    ],
)
def test_cli_exit_code_is_2_never_130_or_a_python_error(
    cli, tmp_path: Path, name: str, content: str | bytes, fragment: str
) -> None:
    path = write(tmp_path, name, content)
    out = cli("run", "--input", str(path))
    assert out.exit_code == 2, out.stderr
    assert out.stderr.startswith(f"Error: --input {path}: {fragment}")
    assert "interrupted" not in out.stderr and "Traceback" not in out.stderr


def check(path: Path) -> np.ndarray | None:
    """load_rows' contract: a finite float32 (rows, FEATURES) array, or a UsageError."""
    try:
        rows = load_rows(str(path), FEATURES)
    except UsageError as exc:
        assert exc.message.startswith(f"--input {path}: ")
        return None
    assert rows.dtype == np.float32 and rows.ndim == 2
    assert rows.shape[0] >= 1 and rows.shape[1] == FEATURES
    assert np.isfinite(rows).all()
    return rows


CELL = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["", " ", "x", "1e400", "-0", ".5", "1.", "nan", "1_0", "0x1", "١", "# c"]),
    st.text(max_size=4),
)
LINE = st.lists(CELL, min_size=1, max_size=5).map(",".join)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.lists(LINE, max_size=6).map("\n".join))
@example("x,y,z\n1,2,1e300")
def test_fuzz_csv_text_gives_rows_or_a_usage_error(tmp_path_factory, text: str) -> None:
    path = tmp_path_factory.mktemp("csv") / "rows.csv"
    path.write_text(text, encoding="utf-8")
    rows = check(path)
    if rows is not None:  # the values are the ones written, rounded to float32
        split = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")  # universal newlines
        lines = [ln.strip() for ln in split if ln.strip()]
        numeric = [ln for ln in lines if not ln.startswith("#")]
        assert len(numeric) - rows.shape[0] in (0, 1)  # at most a header line more


@FUZZ
@given(
    hnp.arrays(
        dtype=st.one_of(
            hnp.floating_dtypes(),
            hnp.integer_dtypes(),
            hnp.unsigned_integer_dtypes(),
            hnp.complex_number_dtypes(),
            hnp.boolean_dtypes(),
            hnp.unicode_string_dtypes(max_len=2),
        ),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    )
)
@example(np.array([[1.0, 2.0, 1e300]]))
@example(np.array([1.0, 2.0, 3.0], dtype=">f2"))
def test_fuzz_npy_arrays_give_rows_or_a_usage_error(tmp_path_factory, array: np.ndarray) -> None:
    path = tmp_path_factory.mktemp("npy") / "rows.npy"
    np.save(path, array)
    rows = check(path)
    if rows is not None:
        expected = array.reshape(-1, FEATURES).astype(np.float64)
        assert np.array_equal(rows, expected.astype(np.float32))
        assert all(abs(v) <= FLOAT32_MAX for v in expected.flat if math.isfinite(v))


@FUZZ
@given(st.binary(max_size=200), st.booleans())
def test_fuzz_npy_bytes_give_rows_or_a_usage_error(
    tmp_path_factory, data: bytes, magic: bool
) -> None:
    path = tmp_path_factory.mktemp("raw") / "rows.npy"
    path.write_bytes((b"\x93NUMPY\x01\x00" if magic else b"") + data)
    check(path)


def test_paths_that_are_no_readable_file(tmp_path: Path) -> None:
    folder = tmp_path / "rows.csv"
    folder.mkdir()
    assert refusal(folder) == "is not a regular file (a directory?)"
    assert refusal(tmp_path / "none.npy") == "no such file"
    long_name = tmp_path / ("a" * 300 + ".csv")  # past NAME_MAX: OSError from stat()
    assert refusal(long_name).startswith("cannot be opened (File name too long")


# --- one reader: quoting, and the same .npy checks for every option ------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('"1.5","2","3"\n', [[1.5, 2, 3]]),  # a spreadsheet quotes every cell
        ('1, "2" ,3\n"4",5,"6"\n', [[1, 2, 3], [4, 5, 6]]),
        ('"a","b","c"\n1,2,3\n', [[1, 2, 3]]),  # a quoted header
        ('"a,b",c,d\n1,2,3\n', [[1, 2, 3]]),  # a comma inside a quoted name
        ('"x, 1","y",z\n1,2,3\n', [[1, 2, 3]]),  # a digit in a name does not make it data
    ],
)
def test_quoted_csv_cells_and_headers_parse(tmp_path: Path, content: str, expected: list) -> None:
    rows = load_rows(str(write(tmp_path, "q.csv", content)), FEATURES)
    assert rows.tolist() == expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('1,"x",3\n', "line 1, column 2: 'x' is not a number"),
        ('1,"2,5",3\n', "line 1, column 2: '2,5' is not a number"),  # quoted: one cell
        ('1,2,"1e300"\n', "line 1, column 3: 1e300 does not fit in float32"),
        ('1,2,3\n"4,5,6\n', "line 2 has 1 values but the model takes 3"),  # never closed
        ('"a,b,c"\n', "contains no rows (line 1 is taken as a header)"),
    ],
)
def test_quoted_csv_errors_name_the_cell_as_parsed(
    tmp_path: Path, content: str, expected: str
) -> None:
    assert refusal(write(tmp_path, "q.csv", content)).startswith(expected)


def test_read_header_unquotes_the_names_read_rows_skips(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", '# data\n\n"x,1", "y" ,label\n1,2,0\n')
    assert read_header(path) == (3, ["x,1", "y", "label"])
    assert read_rows(str(path), option="--data").tolist() == [[1, 2, 0]]
    assert read_header(write(tmp_path, "n.csv", "1,2,0\n")) is None  # the first line is data
    assert read_header(write(tmp_path, "a.npy", np.zeros((2, 3)))) is None


def test_train_data_takes_quoted_column_names(tmp_path: Path) -> None:
    from nncli.core.train.datasets import load_table

    lines = ['"height, cm","weight",label'] + [f"{i},{i % 3},{i % 2}" for i in range(8)]
    path = write(tmp_path, "t.csv", "\n".join(lines) + "\n")
    table = load_table(str(path), target="label")
    assert table.features == ["height, cm", "weight"] and table.target == "label"


def _zip() -> bytes:
    archive = io.BytesIO()
    np.savez(archive, a=np.zeros((2, 3)))
    return archive.getvalue()


def _cut() -> bytes:
    whole = io.BytesIO()
    np.save(whole, np.zeros((4, 3)))
    return whole.getvalue()[:-10]


@pytest.mark.parametrize(
    "content",
    [b"", _zip(), b"1,2,3\n", b"\x93NUMPY\x01\x00junk", b"\x93NUMPY\x07\x00", _cut()],
)
def test_one_npy_reader_for_run_input_and_model_input(tmp_path: Path, content: bytes) -> None:
    """run --input (rows) and --model --input (arrays) refuse a bad .npy alike."""
    path = write(tmp_path, "bad.npy", content)
    rows = refusal(path)
    with pytest.raises(UsageError) as info:
        read_npy_header(str(path))
    assert info.value.message == f"--input {path}: {rows}"
