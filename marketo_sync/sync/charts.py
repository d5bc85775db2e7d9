"""A small server-rendered SVG chart of records per run (no CDN, no JavaScript)."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from marketo_sync.sync.models import SyncRun

WIDTH, HEIGHT, PAD = 640, 160, 24
MAX_SLOT = 40  # a few cycles still look like bars, not blocks
COLOURS = {"success": "#417690", "paused": "#c9a227", "failed": "#ba2121", "running": "#999"}


def runs_chart_svg(runs: list[SyncRun]) -> SafeString:
    """Bars of records fetched per cycle, coloured by status, oldest left."""
    if not runs:
        return format_html("<p>{}</p>", "No sync cycles yet.")
    peak = max(max(run.fetched for run in runs), 1)
    slot = min((WIDTH - 2 * PAD) / len(runs), MAX_SLOT)
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
        'aria-label="Records per sync cycle">{}{}</svg>',
        WIDTH, HEIGHT, chart_axes(peak, "records fetched", "sync cycles, oldest left"),
        format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
            bars,
        ),
    )


def chart_axes(peak: int, y_unit: str, x_unit: str) -> SafeString:
    """Both axes with their units: y ticks at 0, half and the peak; x says what a step is."""
    bottom, top = HEIGHT - PAD, PAD
    ticks = format_html_join(
        "",
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#666"/>'
        '<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text>',
        (
            (PAD - 3, y, PAD, y, PAD - 5, y + 3, value)
            for value, y in ((0, bottom), (peak // 2, (bottom + top) // 2), (peak, top))
        ),
    )
    return format_html(
        '<g class="axes"><line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#666"/>'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#666"/>{}'
        '<text x="{}" y="12" font-size="11">{}</text>'
        '<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text></g>',
        PAD, top, PAD, bottom, PAD, bottom, WIDTH - PAD, bottom, ticks,
        PAD, y_unit, WIDTH - PAD, HEIGHT - 4, x_unit,
    )


LINE_COLOURS = ("#417690", "#c9a227", "#ba2121", "#5b8c3a", "#7a4fa0")


def backlog_chart_svg(series: dict[str, list[tuple[int, int]]]) -> SafeString:
    """One line per object: backlog (records waiting) per cycle, oldest left.

    Every measurement is also drawn as a dot, so an object measured once (the first
    incremental cycle after a full sync) is visible too, not a line of a single point.
    """
    points = [value for values in series.values() for _, value in values]
    if not points:
        return format_html("<p>{}</p>", "No backlog measured yet.")
    peak = max(max(points), 1)
    width = max((len(values) for values in series.values()), default=1)
    step = (WIDTH - 2 * PAD) / max(width - 1, 1)
    shapes = []
    for index, (name, values) in enumerate(sorted(series.items())):
        colour = LINE_COLOURS[index % len(LINE_COLOURS)]
        coordinates = [
            (round(PAD + position * step, 1),
             round(HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / peak, 1), value)
            for position, (_, value) in enumerate(values)
        ]
        shapes.append(format_html(
            '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"><title>{}</title>'
            '</polyline>{}<text x="{}" y="{}" font-size="11" fill="{}">{}</text>',
            " ".join(f"{x},{y}" for x, y, _ in coordinates), colour, name,
            format_html_join(
                "", '<circle cx="{}" cy="{}" r="3" fill="{}"><title>{}: {} waiting</title>'
                "</circle>",
                ((x, y, colour, name, value) for x, y, value in coordinates),
            ),
            PAD + 10 + index * 90, PAD + 12, colour, name,
        ))
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img" '
        'aria-label="Backlog per object">{}{}</svg>',
        WIDTH, HEIGHT, chart_axes(peak, "records waiting", "incremental cycles, oldest left"),
        format_html_join("", "{}", ((shape,) for shape in shapes)),
    )
