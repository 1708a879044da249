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
    assert 0 < report["refine_720p_ms"] < report["segment_composite_720p_ms"]
    assert report["speedup_vs_baseline"] > 0
    assert set(report["resolutions"]) == {"640x360", "1280x720", "1920x1080"}
    r720 = report["resolutions"]["1280x720"]
    assert r720["facefx_ms"]["total"]["n"] == 5
    assert report["speedup_vs_baseline"] == r720["tutorial_ms"]["total"]["median"] / r720["facefx_ms"]["total"]["median"]
    assert report["file_processing_720p"]["frames"] == 6
    assert len(report["memory_soak_720p"]["rss_mb_samples"]) == 2


def test_bench_rejects_a_missing_input():
    proc = subprocess.run([sys.executable, "-m", "facefx", "bench", "--input", "/nonexistent.png"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "image not found: /nonexistent.png" in proc.stderr and "Traceback" not in proc.stderr
