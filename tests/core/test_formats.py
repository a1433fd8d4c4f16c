"""The one presentation layer: number formats (bench.core.formats), the CSV table writer (bench.core.tables) and the
console factory (bench.core.console), with the exact text each gives, worked out by hand."""

import doctest
import io
import math

import pytest

from bench.core import formats
from bench.core.console import PIPED_WIDTH, make_console
from bench.core.formats import cell, cny, dearer_or_cheaper, given, ms, num, pct, ratio, si, tokens
from bench.core.tables import csv_cell, csv_records, csv_table, html_table, markdown_table


def test_every_docstring_example_holds():
    assert doctest.testmod(formats).failed == 0


@pytest.mark.parametrize("x, text", [
    (12.5, "12.5"),            # 3 significant digits, no trailing zero
    (1.5, "1.5"),
    (2.0, "2"),
    (0.1234, "0.123"),
    (99.96, "100"),            # rounds up into the next decade, still 3 digits
    (123.4, "123"),            # from 100 up: the whole number
    (999.6, "1,000"),          # not '1e+03'
    (1234.5, "1,234"),         # round half to even: 1234.5 -> 1234
    (20000.0, "20,000"),
    (-0.5, "-0.5"),
    (0.0, "0"),
    (0.00001234, "1.23e-05"),  # below 0.0001: scientific
    (12345, "12,345"),         # an int as it is, with separators
    (None, "-"), ("", "-"), (math.nan, "-"),
    (math.inf, "inf"), (-math.inf, "-inf"),
    ("as given", "as given"),
])
def test_num(x, text):
    assert num(x) == text


def test_cny_and_ms_follow_num():
    # The same 12.5 CNY reads the same in bench cost, plan and report.
    assert [cny(x) for x in (12.5, 1.5, 0.123, 123.4, 20000.0, None)] == ["12.5", "1.5", "0.123", "123", "20,000", "-"]
    assert [ms(x) for x in (5.234, 52.34, 523.4, 1234.5, None)] == ["5.23", "52.3", "523", "1,234", "-"]


@pytest.mark.parametrize("x, text", [
    (950, "950"),
    (999.6, "1k"),             # 3 digits round it to 1,000: the prefix follows the rounded value
    (30_100, "30.1k"),
    (1_250_000, "1.25M"),      # 1,250,000 / 1e6 = 1.25
    (999_960, "1M"),
    (2.4e9, "2.4G"),           # G, never B (B is bytes in bench)
    (258e6, "258M"),
    (1.5e12, "1.5T"),
    (2.5e15, "2,500T"),        # past the last prefix: the whole number
    (0.5, "0.5"),
    (None, "-"), (math.inf, "inf"),
])
def test_tokens(x, text):
    assert tokens(x) == text


def test_si_puts_the_prefix_before_the_unit():
    assert si(989e12, "FLOPS") == "989 TFLOPS"
    assert si(3.35e12, "B/s") == "3.35 TB/s"  # 3.35e12 / 1e12
    assert si(14.2e9, "B") == "14.2 GB"
    assert si(512, "B") == "512 B"
    assert si(None, "B") == "-"


@pytest.mark.parametrize("x, signed, text", [
    (0.1234, False, "12.3%"),  # 100 x 0.1234 = 12.34 -> 3 digits
    (1.0, False, "100%"),
    (0.05, False, "5%"),
    (0.288, False, "28.8%"),
    (0.0001234, False, "0.0123%"),
    (0.1234, True, "+12.3%"),
    (-0.05, True, "-5%"),
    (0.0, True, "0%"),         # no sign on no change
    (math.inf, True, "+inf%"),
    (None, True, "-"),
])
def test_pct(x, signed, text):
    assert pct(x, signed=signed) == text


def test_ratio_and_dearer_or_cheaper():
    assert [ratio(x) for x in (1.114, 2.0, 0.54, 12.34, None)] == ["1.11x", "2x", "0.54x", "12.3x", "-"]
    assert dearer_or_cheaper(1.114) == "1.11x dearer"
    assert dearer_or_cheaper(1.0) == "1x dearer"
    assert dearer_or_cheaper(0.5) == "2x cheaper"      # 1 / 0.5
    assert dearer_or_cheaper(0.3) == "3.33x cheaper"   # 1 / 0.3 = 3.333...
    assert dearer_or_cheaper(0.0) == "free to run"
    assert dearer_or_cheaper(math.inf) == "the other is free"


def test_given_figures_are_echoed_as_written():
    # a listed price or a target keeps its digits: rounding 0.0015 CNY/M or a 7.25 FX rate would misquote it
    assert [given(x) for x in (0.8, 7.25, 0.0015, 30.0, 1234.5)] == ["0.8", "7.25", "0.0015", "30", "1234.5"]


def test_cells_of_markdown_and_html_tables_use_num():
    assert [cell(v) for v in ("a|b", 12.5, None, 3)] == ["a|b", "12.5", "-", "3"]
    assert markdown_table(["what", "CNY/M"], [["x", 12.5], ["y", None]]) == (
        "| what | CNY/M |\n|---|---|\n| x | 12.5 |\n| y | - |\n")
    assert html_table(["what", "CNY/M"], [["x", 1234.5]]) == (
        '<table><thead><tr><th>what</th><th>CNY/M</th></tr></thead><tbody><tr><td>x</td><td class="n">1,234</td>'
        "</tr></tbody></table>\n")


def test_csv_cells_keep_the_raw_number():
    assert csv_cell(None) == ""
    assert csv_cell(math.nan) == ""
    assert csv_cell(1 / 3) == "0.333333"        # 6 decimals, never a display format
    assert csv_cell(1234567.891) == "1234567.891"  # no thousands separators
    assert csv_cell(2.4e9) == "2400000000.0"     # no SI prefix
    assert csv_cell(math.inf) == "inf"
    assert csv_cell(3) == 3 and csv_cell(True) is True and csv_cell("a") == "a"


def test_csv_cells_of_numpy_floats_are_plain_floats():
    np = pytest.importorskip("numpy")
    assert csv_cell(np.float64(0.1234567891)) == "0.123457"


def test_csv_table_and_records():
    assert csv_table(["a", "b,c"], [[1, 0.5], ["x,y", None]]) == b'a,"b,c"\n1,0.5\n"x,y",\n'
    assert csv_records(["a", "b"], [{"a": 1.0, "b": "t"}, {"b": math.inf}]) == b"a,b\n1.0,t\n,inf\n"


def test_the_console_factory_is_wide_and_plain_when_piped():
    c = make_console()
    assert not c.is_terminal  # pytest captures stdout
    assert c.width == PIPED_WIDTH
    assert c.color_system is None
    c.file = io.StringIO()
    c.print("[red]" + "x" * 150 + "[/red]")
    assert c.file.getvalue() == "x" * 150 + "\n"  # one line, no colour codes
    assert make_console(stderr=True).stderr and make_console() is not make_console()


def _sources_with(pattern: str) -> list[str]:
    """bench/ modules whose source matches `pattern` (a regex), as paths relative to bench/."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "bench"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.py") if re.search(pattern, p.read_text()))


def test_one_console_factory_and_one_csv_table_writer():
    # every rich Console comes from bench.core.console; every CSV table from bench.core.tables (results CSVs,
    # appended row by row under their schema, are bench.results.store's)
    assert _sources_with(r"\bConsole\(") == ["core/console.py"]
    assert _sources_with(r"csv\.(writer|DictWriter)\(|\.to_csv\(") == ["core/tables.py", "results/store.py"]
