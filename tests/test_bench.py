"""facefx bench end to end, small: it measures, prints its table and writes the JSON fields."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_writes_figures(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "facefx", "bench", "--frames", "5", "--file-frames", "6",
                           "--soak-frames", "200", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "1280x720" in proc.stdout and "tutorial" in proc.stdout
    assert "INFO:" not in proc.stdout + proc.stderr      # native chatter stays off the table
    report = json.loads(out.read_text())
    assert report["segment_composite_720p_ms"] > 0
    assert 0 < report["refine_720p_ms"] < report["segment_composite_refined_720p_ms"]
    assert report["resolutions"]["1280x720"]["facefx_ms"]["refine"]["median"] == 0   # off by default
    assert report["speedup_vs_baseline"] > 0
    assert set(report["resolutions"]) == {"640x360", "1280x720", "1920x1080"}
    r720 = report["resolutions"]["1280x720"]
    assert r720["facefx_ms"]["total"]["n"] == 5
    assert report["speedup_vs_baseline"] == r720["tutorial_ms"]["total"]["median"] / r720["facefx_ms"]["total"]["median"]
    # Faces + expressions: the bundled portrait's one and four faces are all found and timed.
    assert 0 < report["expressions_720p_ms"] <= report["expressions_drawn_720p_ms"]
    assert 0 < report["expressions_4faces_720p_ms"] <= report["expressions_4faces_drawn_720p_ms"]
    assert report["expressions_720p_cpu_ms"] > 0 and report["expressions_4faces_720p_cpu_ms"] > 0
    assert report["expressions"]["1280x720"]["one_face"]["faces_found_median"] == 1
    assert report["expressions"]["1280x720"]["4_faces"]["faces_found_median"] == 4
    assert set(report["expressions_breakdown_720p_ms"]) == {"detector_short", "detector_full", "mesh", "expression", "cnn"}
    assert report["file_processing_720p"]["frames"] == 6
    assert len(report["memory_soak_720p"]["rss_mb_samples"]) == 2


def test_bench_rejects_a_missing_input():
    proc = subprocess.run([sys.executable, "-m", "facefx", "bench", "--input", "/nonexistent.png"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "image not found: /nonexistent.png" in proc.stderr and "Traceback" not in proc.stderr


def _bench(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "facefx", "bench", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_bench_table_columns_line_up_and_memory_is_a_run_of_its_own(tmp_path):
    out = tmp_path / "bench.json"
    proc = _bench("--frames", "5", "--file-frames", "0", "--soak-frames", "200", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("resolution"))
    ends = [i + 1 for i, (a, b) in enumerate(zip(lines[header], lines[header][1:] + " ")) if a != " " and b == " "]
    rows = lines[header + 1:header + 10]
    assert len(rows) == 9 and rows[0].split()[0] == "640x360"
    for row in rows:
        for end in ends[:2]:  # resolution and pipeline columns end where their headers end
            if row[:end].strip():
                assert row[end - 1] != " " and (len(row) == end or row[end] == " "), (row, end)
        assert row[ends[5] - 1] != " ", row  # the total column always has a figure
    report = json.loads(out.read_text())
    soak = report["memory_soak_720p"]
    assert soak["rss_mb_samples"] and soak["peak_rss_mb"] > 0
    assert report["bench_process_peak_rss_mb"] > soak["rss_mb_samples"][-1]
    assert "a process of its own" in proc.stdout


def test_bench_quiet_prints_nothing(tmp_path):
    proc = _bench("-q", "--frames", "5", "--file-frames", "0", "--soak-frames", "0")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""


def test_bench_usage_errors_are_one_line_in_the_common_form(tmp_path):
    for args, needle in [(["--frames", "2"], "--frames: expected at least 5"),
                         (["--soak-frames", "x"], "--soak-frames: expected a whole number"),
                         (["--json", str(tmp_path / "no" / "b.json")], "--json: cannot write"),
                         (["--bogus"], "unrecognized arguments: --bogus")]:
        proc = _bench(*args, timeout=60)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stdout == "", "the --json folder is checked before anything is measured"
        err = proc.stderr.strip()
        assert len(err.splitlines()) == 1 and err.startswith("facefx bench: error: ") and needle in err, err
        assert err.endswith("(see 'facefx bench --help')"), err
