import re

from marketo_sync.sync.charts import backlog_chart_svg


def test_backlog_measured_once_is_drawn_as_a_dot():
    svg = backlog_chart_svg({"Contact": [(7, 120)], "Account": [(8, 3)]})

    assert svg.count("<circle") == 2
    assert "<title>Contact: 120 waiting</title>" in svg
    assert "max 120 records" in svg


def test_backlog_series_points_scale_to_the_peak():
    svg = backlog_chart_svg({"Lead": [(1, 100), (2, 50), (3, 0)]})

    heights = [float(y) for y in re.findall(r'cy="([\d.]+)"', svg)]
    assert heights[0] < heights[1] < heights[2]  # SVG y grows downwards
    assert re.search(r'<polyline points="[\d.]+,[\d.]+ [\d.]+,[\d.]+ [\d.]+,[\d.]+"', svg)


def test_backlog_chart_escapes_names_and_says_when_empty():
    assert "No backlog measured yet." in backlog_chart_svg({})
    svg = backlog_chart_svg({"<script>x</script>": [(1, 1)]})
    assert "<script>" not in svg and "&lt;script&gt;" in svg
