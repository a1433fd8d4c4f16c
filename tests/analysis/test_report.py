"""bench report: every file written, charts embedded, absent data skipped with a note, the seed
claims computed, bad input refused with one line (exit 2) and nothing written."""

import re

import pytest
from bench.results import store as results
from result_rows import row, sim_row, write_rows

from bench.cli import main

MODELS = ("qwen2.5-7b-instruct", "deepseek-v2-lite-chat", "glm-4-9b-chat")
GPUS = ("H100-SXM", "H20", "RTX-4090")


def demo_rows() -> list[dict]:
    """What scripts/demo.sh writes on a CPU machine: Qwen2.5-0.5B at batch 1, 4, 16."""
    return [row("qwen2.5-0.5b-instruct", "cpu-server", b, input_len=128, output_len=64, num_prompts=16)
            for b in (1, 4, 16)]


def sim_sweep_rows() -> list[dict]:
    """A sim sweep over H100/H20/RTX-4090 (DeepSeek-V2-Lite does not fit a 4090: oom rows)."""
    rows = []
    for hw in GPUS:
        for m in MODELS:
            for b in (8, 32, 128):
                if hw == "RTX-4090" and m == "deepseek-v2-lite-chat":
                    rows.append(dict(sim_row(m, hw, b), status="oom", output_tok_s="", total_tok_s=""))
                else:
                    rows.append(sim_row(m, hw, b))
    return rows


def measured_gpu_rows() -> list[dict]:
    """Measured H100 rows with the later columns: roofline efficiency, energy, serving load."""
    rows = []
    for b in (8, 32, 128):
        r = row("qwen2.5-7b-instruct", "H100-SXM", b, hardware="H100-SXM")
        sim = sim_row("qwen2.5-7b-instruct", "H100-SXM", b)
        r.update(roofline_output_tok_s=sim["output_tok_s"], efficiency=r["output_tok_s"] / sim["output_tok_s"],
                 energy_j=r["elapsed_s"] * 650, avg_power_w=650.0,
                 joules_per_output_token=r["elapsed_s"] * 650 / r["output_tokens"])
        rows.append(r)
    for rate in (1, 4, 16):
        rows.append(row("qwen2.5-7b-instruct", "H100-SXM", 256, hardware="H100-SXM", run=rate, request_rate=rate,
                        ttft_p50_ms=40.0 * rate, ttft_p99_ms=90.0 * rate, tpot_p50_ms=8 + rate, tpot_p99_ms=12 + rate,
                        itl_p50_ms=8 + rate, itl_p99_ms=20 + rate))
    return rows


def report(tmp_path, capsys, *args):
    code = main([str(a) for a in ("report", *args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    csv_path = write_rows(tmp / "demo-cpu.csv", demo_rows())
    out = tmp / "demo-cpu-report"
    assert main(["report", str(csv_path), "--hardware", "cpu-server", "--as-of", "2024-06-01", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("full")
    sims = write_rows(tmp / "sim-sweep.csv", sim_sweep_rows())
    measured = write_rows(tmp / "h100.csv", measured_gpu_rows())
    out = tmp / "report"
    assert main(["report", str(sims), str(measured), "--as-of", "2024-06-01", "--out", str(out)]) == 0
    return out


def pngs_of(out):
    return sorted(p.name for p in out.glob("*.png"))


def test_demo_report_writes_every_file(demo_report):
    names = pngs_of(demo_report)
    assert (demo_report / "index.html").is_file() and (demo_report / "report.md").is_file()
    assert [n for n in names if n.startswith("throughput-")] and [n for n in names if n.startswith("latency-offline")]
    for n in ("kv-bytes-per-token.png", "cost-vs-vendors.png", "cost-vs-utilization.png"):
        assert n in names
    for n in names:
        assert (demo_report / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (demo_report / "report.md").read_text()
    assert all(f"]({n})" in md for n in names)


def test_page_is_self_contained(demo_report):
    page = (demo_report / "index.html").read_text()
    srcs = re.findall(r'<img src="([^"]+)"', page)
    assert len(srcs) == len(pngs_of(demo_report))
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<script" not in page


def test_demo_report_skips_absent_data_with_a_note(demo_report):
    md = (demo_report / "report.md").read_text()
    assert "Skipped: no measured row has a roofline figure" in md
    assert "Skipped: no row has energy columns" in md


def test_charts_have_units_titles_and_tables(demo_report):
    md = (demo_report / "report.md").read_text()
    for needle in ("| series | batch | output tok/s |", "| model | attention | KV dtype | measured B/token |",
                   "| what | kind | CNY/M blended |", "| self-hosted | vendor | vendor CNY/M |",
                   "128 in / 64 out tokens × 16 prompts"):
        assert needle in md
    # the cheapest CPU batch priced on the cpu-server rental basis; vendor prices of the day asked for
    # what is priced is said: a CPU row is priced as the whole 96-core cpu-server, not the cores the run used
    assert "qwen2.5-0.5b-instruct · cpu-server (priced as a whole 96-core server) (rental, batch 16)" in md
    assert md.splitlines()[4].startswith("**[China market, rental on-demand] ")  # the market first
    assert "Self-hosting on cpu-server (priced as a whole 96-core server) costs" in md
    assert "ByteDance doubao-pro-32k" in md and "on 2024-06-01" in md


def test_seed_claims_table(demo_report):
    md = (demo_report / "report.md").read_text()
    claims = md[md.index("## The articles' claims"):]
    rows = [line for line in claims.splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) == 13
    assert "69,120 vs DeepSeek 67B 389,120 KV bytes/token at bf16, 82.2% less" in rows[0]
    assert "93.3% less" in rows[0]
    assert "the blend is 1 CNY/M at 5:1 input:output" in rows[1] and "accounts at 60 RPM" in rows[1]
    assert "qwen-long 20/20 -> 0.5/2 from 2024-05-21 (-97.5% input)" in rows[3]
    # qwen-turbo 2 / 6 CNY/M blended 3:1 = 3; 20,000 / 730 x 24 = 657.5 CNY/day / 3 CNY/M = 219M tokens/day
    assert "219M tokens/day" in rows[4]
    assert rows[7].endswith("| not measured in these results |")


def test_sim_sweep_and_measured_rows_show_every_chart(full_report):
    md = (full_report / "report.md").read_text()
    assert "Skipped" not in md
    names = pngs_of(full_report)
    for prefix in ("throughput-", "latency-offline-", "latency-serving-", "kv-bytes-per-token", "cost-vs-vendors",
                   "cost-vs-utilization", "efficiency", "energy"):
        assert any(n.startswith(prefix) for n in names), prefix
    assert "on H100-SXM (sim), H20 (sim), NVIDIA H100 80GB HBM3, RTX-4090 (sim)]" in md
    assert "request rate (requests/s)" in md
    # every card is priced: the H20 (an export part) at its China rental quote, none left out
    assert "not priced" not in md and "· H20 sim (rental, batch 128" in md
    assert "Rows of engine=sim are roofline predictions" in md


def test_efficiency_table(full_report):
    md = (full_report / "report.md").read_text()
    eff = md[md.index("## Measured vs roofline"):md.index("## Energy")]
    assert eff.count("| qwen2.5-7b-instruct · NVIDIA H100 80GB HBM3 |") == 3
    assert "| 60 |" in eff.replace("60.0", "60")  # the fixture's measured rows run at 60% of the roofline


def test_second_engine_gives_the_engine_claim(tmp_path, capsys):
    rows = [row("qwen2.5-7b-instruct", "H100-SXM", 32, hardware="H100-SXM"),
            row("qwen2.5-7b-instruct", "H100-SXM", 32, hardware="H100-SXM", engine="hf", scale=0.4)]
    path = write_rows(tmp_path / "engines.csv", rows)
    code, out, _ = report(tmp_path, capsys, path, "--as-of", "2024-06-01", "--out", tmp_path / "r")
    assert code == 0 and "report:" in out
    md = (tmp_path / "r" / "report.md").read_text()
    assert "hf/vllm 0.4x" in md  # scale 0.4: 3 significant digits, no trailing zero


def test_rows_without_latency_or_prices(tmp_path, capsys):
    rows = [dict(row(batch=b), ttft_p50_ms="", ttft_p99_ms="", tpot_p50_ms="",
                 tpot_p99_ms="", tpot_mean_ms="", ttft_mean_ms="") for b in (8, 32)]
    path = write_rows(tmp_path / "bare.csv", rows)
    code, out, _ = report(tmp_path, capsys, path, "--as-of", "2024-06-01", "--out", tmp_path / "r")
    assert code == 0
    md = (tmp_path / "r" / "report.md").read_text()
    assert "Skipped: no row with TTFT/TPOT percentiles" in md
    assert "Skipped: no row could be priced" in md and "pass --hardware NAME" in md
    assert "self-hosted: not measured in these results" in md


@pytest.mark.parametrize("setup,args,needle", [
    ("future", [], "schema version 99"),
    ("ok", ["--hardware", "H100"], "unknown hardware 'H100'; did you mean"),
    ("failed", [], "no row with status ok"),
    ("ok", ["--as-of", "2020-01-01"], "before every known price"),
    ("ok", ["--vendors", "nosuchvendor"], "unknown vendor 'nosuchvendor'"),
    ("outfile", [], "is a file; give a directory"),
])
def test_bad_input(tmp_path, capsys, setup, args, needle):
    path = write_rows(tmp_path / "runs.csv", [row()])
    out = tmp_path / "out"
    if setup == "future":
        path.write_text(path.read_text().replace(f"\n{results.SCHEMA_VERSION},", "\n99,"))
    elif setup == "failed":
        path.unlink()
        write_rows(path, [row(status="oom")])
    elif setup == "outfile":
        out.write_text("not a folder")
    code, _, err = report(tmp_path, capsys, path, *args, "--out", out)
    assert code == 2, err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err
    assert setup == "outfile" or not out.exists()


def test_compare_and_report_never_import_vllm_or_torch(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    csv_path = write_rows(tmp_path / "runs.csv", demo_rows())
    code = ("import sys; from bench.cli import main; "
            f"a = main(['report', {str(csv_path)!r}, '--hardware', 'cpu-server', '--out', {str(tmp_path / 'r')!r}]); "
            f"b = main(['compare', {str(csv_path)!r}, {str(csv_path)!r}]); "
            "heavy = [m for m in ('vllm', 'torch') if m in sys.modules]; "
            "assert (a, b, heavy) == (0, 0, []), (a, b, heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_case_run_three_times_is_one_point_at_its_median(tmp_path):
    """Three rows of one case (output tok/s x 1.0, x 0.5, x 1.5 of the same row) are one run of their median,
    standing for 3 rows: the throughput table shows x 1.0 and 3 rows."""
    from bench.analysis.report.load import load_runs
    from bench.config.hardware import load_hardware

    one = row("qwen2.5-7b-instruct", "H100-SXM", 32)
    rows = [row("qwen2.5-7b-instruct", "H100-SXM", 32, scale=s, run=i) for i, s in enumerate((1.0, 0.5, 1.5))]
    path = write_rows(tmp_path / "r.csv", rows + [row("qwen2.5-7b-instruct", "H100-SXM", 8)])
    runs, lines = load_runs([path], None, load_hardware())
    assert [r.rows for r in runs] == [3, 1]
    assert runs[0].num("output_tok_s") == pytest.approx(one["output_tok_s"])  # median of 0.5x, 1x, 1.5x
    assert runs[0].row["model"] == "qwen2.5-7b-instruct" and runs[0].num("max_num_seqs") == 32
    assert lines == ["r.csv: 4 row(s); 2 distinct case(s), each shown as the median of its rows"]


def test_many_workloads_stay_one_bounded_page(tmp_path, capsys, monkeypatch):
    """4 workloads, charts for 1 (the one with the most series: two models), the other 3 in one table; tables
    longer than 2 lines are cut on the page, whole in <slug>.csv, and the note says so."""
    import csv

    from bench.analysis.report import build, load

    monkeypatch.setattr(load, "MAX_WORKLOAD_CHARTS", 1)
    monkeypatch.setattr(build, "MAX_TABLE_ROWS", 2)
    rows = [row(m, "H100-SXM", b, input_len=512, hardware="H100-SXM")
            for m in ("qwen2.5-7b-instruct", "glm-4-9b-chat") for b in (8, 32, 128)]
    rows += [row("qwen2.5-7b-instruct", "H100-SXM", b, input_len=i, hardware="H100-SXM")
             for i in (1024, 2048, 4096) for b in (8, 32)]
    path = write_rows(tmp_path / "r.csv", rows)
    out = tmp_path / "rep"
    code, _, err = report(tmp_path, capsys, path, "--as-of", "2024-06-01", "--out", out)
    assert code == 0, err
    html = (out / "index.html").read_text()
    assert len(re.findall(r'<section id="throughput-', html)) == 1  # one workload charted
    assert "Throughput vs batch size: 512 in / 256 out tokens" in html
    assert "Workloads without their own charts (3)" in html
    other = list(csv.reader((out / "other-workloads.csv").open()))
    assert [r[0] for r in other[1:]] == [f"{i} in / 256 out tokens × 128 prompts" for i in (1024, 2048, 4096)]
    assert [r[1] for r in other[1:]] == ["2", "2", "2"]  # rows of each
    # the charted throughput table: 2 series x 3 batches = 6 lines, 2 on the page
    assert "The table shows its first 2 of 6 lines; all of them are in throughput-512-in-256-out-tokens" in html
    assert len(list(csv.reader(next(out.glob("throughput-*.csv")).open()))) == 1 + 6
    # the cost charts span the 4 workloads: their titles count them (a title once listed every one of 280), and
    # bars of the same model and card say which request shape they are
    titles = re.findall(r'alt="([^"]*CNY per million tokens[^"]*)"', html)
    assert titles and all("4 workloads (each in the table) on H100-SXM" in t for t in titles), titles
    bars = list(csv.reader((out / "cost-vs-vendors.csv").open()))
    assert "qwen2.5-7b-instruct · H100-SXM (rental, batch 128) · 512/256 × 128" in {r[0] for r in bars}
    assert "qwen2.5-7b-instruct · H100-SXM (rental, batch 32) · 4096/256 × 128" in {r[0] for r in bars}


def test_a_cost_chart_title_lists_a_few_workloads_and_counts_many():
    from bench.analysis.report.cost import _listed

    assert _listed({"b", "a"}, "workloads") == "a; b"
    assert _listed({"a", "b", "c"}, "workloads") == "a; b; c"
    assert _listed({"a", "b", "c", "d"}, "workloads") == "4 workloads (each in the table)"


def test_the_report_says_when_a_p99_rests_on_too_few_requests():
    from bench.analysis.report.model import Run
    from bench.analysis.report.sections import p99_caveat

    runs = [Run({"ttft_samples": 71, "tpot_samples": 71}, "a.csv", "H100-SXM"),  # under 100: flagged (typed rows)
            Run({"ttft_samples": 300, "tpot_samples": 300}, "a.csv", "H100-SXM"),
            Run({}, "old.csv", "H100-SXM")]  # an older row: no count recorded, nothing claimed
    note = p99_caveat(runs)
    assert note.startswith(" 1 of 3 rows took their p99 over fewer than 100 requests")
    assert p99_caveat(runs[1:]) == ""
