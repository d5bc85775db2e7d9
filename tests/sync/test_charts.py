import re

from django.utils import timezone

from marketo_sync.sync.charts import backlog_chart_svg, runs_chart_svg
from marketo_sync.sync.models import SyncRun


def test_backlog_measured_once_is_drawn_as_a_dot():
    svg = backlog_chart_svg({"Contact": [(7, 120)], "Account": [(8, 3)]})

    assert svg.count("<circle") == 2
    assert "<title>Contact: 120 waiting</title>" in svg
    assert ">records waiting</text>" in svg and ">120</text>" in svg


def test_backlog_series_points_scale_to_the_peak():
    svg = backlog_chart_svg({"Lead": [(1, 100), (2, 50), (3, 0)]})

    heights = [float(y) for y in re.findall(r'cy="([\d.]+)"', svg)]
    assert heights[0] < heights[1] < heights[2]  # SVG y grows downwards
    assert re.search(r'<polyline points="[\d.]+,[\d.]+ [\d.]+,[\d.]+ [\d.]+,[\d.]+"', svg)


def test_backlog_chart_escapes_names_and_says_when_empty():
    assert "No backlog measured yet." in backlog_chart_svg({})
    svg = backlog_chart_svg({"<script>x</script>": [(1, 1)]})
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_both_charts_have_axes_with_units():
    runs_svg = runs_chart_svg([
        SyncRun(started_at=timezone.now(), status="success", fetched=80),
        SyncRun(started_at=timezone.now(), status="failed", fetched=20),
    ])
    backlog_svg = backlog_chart_svg({"Lead": [(1, 100), (2, 50)]})
    for svg, y_unit, x_unit, peak in (
        (runs_svg, "records fetched", "sync cycles, oldest left", "80"),
        (backlog_svg, "records waiting", "incremental cycles, oldest left", "100"),
    ):
        assert svg.count('<g class="axes">') == 1
        assert f">{y_unit}</text>" in svg and f">{x_unit}</text>" in svg
        assert f">{peak}</text>" in svg and ">0</text>" in svg
