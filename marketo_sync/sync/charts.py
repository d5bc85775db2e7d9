"""A small server-rendered SVG chart of records per run (no CDN, no JavaScript)."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from marketo_sync.sync.models import SyncRun

WIDTH, HEIGHT, PAD = 640, 160, 24
COLOURS = {"success": "#417690", "paused": "#c9a227", "failed": "#ba2121", "running": "#999"}


def runs_chart_svg(runs: list[SyncRun]) -> SafeString:
    """Bars of records fetched per cycle, coloured by status, oldest left."""
    if not runs:
        return format_html("<p>{}</p>", "No sync cycles yet.")
    peak = max(max(run.fetched for run in runs), 1)
    slot = (WIDTH - 2 * PAD) / len(runs)
    bars = []
    for index, run in enumerate(runs):
        height = (HEIGHT - 2 * PAD) * run.fetched / peak
        bars.append((
            round(PAD + index * slot + 1, 1), round(HEIGHT - PAD - height, 1),
            round(max(slot - 2, 1), 1), round(height, 1), COLOURS.get(run.status, "#999"),
            f"{run.started_at:%Y-%m-%d %H:%M} {run.status}: {run.fetched} records",
        ))
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img" '
        'aria-label="Records per sync cycle"><text x="{}" y="14" font-size="11">'
        "max {} records</text>{}</svg>",
        WIDTH, HEIGHT, PAD, peak,
        format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
            bars,
        ),
    )
