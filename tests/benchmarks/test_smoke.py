"""The benchmark runner still runs (on the tiny org); its figures are not asserted as timings."""

import json
import os
import subprocess
import sys

import pytest

from tests.fixtures.workers import ROOT


@pytest.mark.slow
def test_benchmarks_run_on_the_tiny_org(tmp_path):
    out = tmp_path / "bench.json"
    database = os.environ.get("TEST_DATABASE_NAME", "marketo_sync_test") + "_bench"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "benchmarks", "--seed", "tiny", "--memory-seeds", "tiny",
         "--workers", "1,2", "--latency-updates", "10", "--latency-interval", "5",
         "--database", database, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["full_sync"]["status"] == "success"
    assert figures["incremental"]["idle_cycle_api_calls"] == 5
    assert figures["admin"]["contact_page_queries"] > 0
    assert "sync_vs_limit" in figures["full_sync"]
    assert figures["memory"]["peak_rss_mb_tiny"] > 30  # the sync process itself, measured
    assert figures["scaling"]["workers_1_speedup"] == 1.0
    assert figures["reconcile"]["status"] == ["success"] and figures["reconcile"]["api_calls"] >= 5
    assert figures["scaling"]["workers_2_seconds"] > 0
    assert figures["history_overhead_full_sync"] > 0 and figures["history_overhead_cdv"] > 0
    assert len(figures["history_overhead_runs"]["seconds"]["cdv"]["with"]) == 5
    assert figures["latency"]["completed"] == 10 == figures["latency"]["polling"]["completed"]
    for name in ("full_sync", "incremental", "reconcile", "admin", "change_data_value",
                 "history_overhead", "scaling", "memory"):
        running = result.stdout.index(f"== benchmark {name}: running")
        assert running < result.stdout.index(f"== benchmark {name}: done in ")


@pytest.mark.slow
def test_the_people_1m_section_runs_small_and_keeps_the_other_sections(tmp_path):
    out = tmp_path / "bench.json"
    out.write_text(json.dumps({"full_sync": {"status": "success"}}))
    database = os.environ.get("TEST_DATABASE_NAME", "marketo_sync_test") + "_people_bench"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "benchmarks", "--only", "people_1m", "--people", "20000",
         "--database", database, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["full_sync"] == {"status": "success"}
    people = figures["people_1m"]
    assert people["people"] == 20000 and people["smart_list_members"] > 0
    assert {"smart_list_ms", "search_ms", "export_rows_per_s", "export_rss_growth_mb"} <= set(
        people)


@pytest.mark.slow
def test_the_xlarge_section_runs_scaled_down_and_keeps_the_other_sections(tmp_path):
    out = tmp_path / "bench.json"
    out.write_text(json.dumps({"full_sync": {"status": "success"}}))
    database = os.environ.get("TEST_DATABASE_NAME", "marketo_sync_test") + "_xlarge_bench"
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "benchmarks", "--seed", "xlarge", "--seed-scale", "0.002",
         "--memory-seeds", "tiny", "--database", database, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "BENCH_REDIS_URL": redis_url},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["full_sync"] == {"status": "success"}
    xlarge = figures["xlarge"]
    assert xlarge["scale"] == 0.002
    # 100 accounts, 1,600 contacts, 400 leads, 100 opportunities, 50 users, the converted lead
    assert xlarge["full_sync"]["records"] == 100 + 1601 + 400 + 101 + 50 + 1
    assert xlarge["full_sync"]["status"] == "success"
    assert xlarge["incremental"]["one_percent_changed_records"] == 17
    assert xlarge["reconcile"]["status"] == ["success"]
    assert xlarge["sandbox_peak_rss_mb"] >= xlarge["sandbox_peak_rss_mb_after_seeding"] > 30
    assert set(xlarge["memory"]) == {"peak_rss_mb_tiny", "peak_rss_mb_xlarge", "rss_growth"}


@pytest.mark.slow
def test_the_activities_scale_section_runs_small_and_keeps_the_other_sections(tmp_path):
    out = tmp_path / "bench.json"
    out.write_text(json.dumps({"full_sync": {"status": "success"}}))
    database = os.environ.get("TEST_DATABASE_NAME", "marketo_sync_test") + "_activities_bench"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "benchmarks", "--only", "activities_scale",
         "--activity-rows", "20000", "--database", database, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["full_sync"] == {"status": "success"}
    scale = figures["activities_scale"]
    assert scale["rows"] == 20000 and scale["people"] == 10000
    # a skewed share: the busiest person holds more than the median one
    assert 0 < scale["median_person"]["activities"] < scale["busiest_person"]["activities"]
    assert scale["median_person"]["timeline_page"]["ms"] > 0
    assert scale["median_person"]["empty_table"]["timeline_page"]["queries"] > 0
    # the unfiltered log is never counted in full: a LIMIT-bounded count, then the estimate
    assert [" LIMIT " in sql for sql in scale["changelist_unfiltered"]["counts"]] == [True]
    assert len(scale["dropped"]) == 1 and scale["drop_month_seconds"] > 0
    plans = (tmp_path / "activities_scale_plans.txt").read_text()
    assert "== timeline page, busiest_person:" in plans
