"""Charts as PNG bytes (matplotlib, Agg backend: no display, no network). Each function takes
plain numbers with their labels and returns the image; what to plot is decided in bench.analysis.report.build.

Every chart gets the title, axis labels and units it is given; colours follow a series' `group`
so that, e.g., the p50 and p99 lines of one model share a colour.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from bench.core.formats import num

WIDTH_IN = 9.0
DPI = 100


@dataclass(frozen=True)
class Series:
    label: str
    xs: list[float]
    ys: list[float]
    group: str = ""  # same group, same colour (default: the label)
    dashed: bool = False
    marker: str = "o"  # "" for none (dense curves)
    yerr: list[float] | None = None  # half-widths of each point's 95% interval (0: none), drawn as error bars
    band: tuple[list[float], list[float]] | None = None  # (lows, highs) of each point's interval, drawn as a band


@dataclass(frozen=True)
class Panel:
    ylabel: str
    series: list[Series]
    logy: bool = False
    ylim_bottom: float | None = None


@dataclass(frozen=True)
class HLine:
    label: str
    y: float


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    category: str  # bars of one category share a colour and one legend entry
    err: tuple[float, float] | None = None  # (below, above) the value: its 95% interval, drawn as an error bar


@dataclass
class _Colours:
    palette: list = field(default_factory=list)
    assigned: dict = field(default_factory=dict)

    def __call__(self, key: str):
        if key not in self.assigned:
            self.assigned[key] = self.palette[len(self.assigned) % len(self.palette)]
        return self.assigned[key]


TITLE_CHARS = 100


def wrap(title: str) -> str:
    """A long title on several lines, so that it never widens the figure."""
    import textwrap

    return "\n".join(textwrap.wrap(title, TITLE_CHARS, break_long_words=False))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colours(plt) -> _Colours:
    return _Colours(palette=list(plt.get_cmap("tab10").colors))


def _png(fig, plt) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


LEGEND_INSIDE_MAX = 6  # more entries than this: one legend under the chart


def _legend(fig, axes, style_labels: tuple[str, str] | None) -> None:
    """One entry per colour (the series' group) plus, with `style_labels`, what solid and dashed
    lines mean; inside the first panel when short, else under the chart."""
    from matplotlib.lines import Line2D

    handles, labels = {}, {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            key = h.get_gid() or label
            if key not in handles:
                if style_labels and isinstance(h, Line2D):
                    h = Line2D([], [], color=h.get_color(), marker="o", markersize=4)
                handles[key], labels[key] = h, key
    if style_labels:
        for dashed, text in zip((False, True), style_labels):
            handles[text] = Line2D([], [], color="0.3", linestyle="--" if dashed else "-",
                                   marker="^" if dashed else "o", markerfacecolor="white" if dashed else None)
            labels[text] = text
    if not handles:
        return
    if len(handles) <= LEGEND_INSIDE_MAX and len(axes) == 1:
        axes[0].legend(list(handles.values()), list(labels.values()), fontsize=7, loc="best")
    else:
        fig.legend(list(handles.values()), list(labels.values()), fontsize=7, loc="upper center",
                   bbox_to_anchor=(0.5, 0.0), ncol=3, frameon=False)


def _plain_log_ticks(axis) -> None:
    """1, 2, 5, 10, 20, 50... written as plain numbers instead of powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.10g}"))
    axis.set_minor_formatter(NullFormatter())


def line_panels(title: str, xlabel: str, panels: list[Panel], logx: bool = False, hlines: list[HLine] = (),
                xticks: list[float] | None = None, markers: list[tuple[float, float]] = (),
                style_labels: tuple[str, str] | None = None, logx_base: int = 2) -> bytes:
    """One or more side-by-side line charts sharing an x axis label; `hlines` (horizontal reference
    lines, e.g. vendor prices) and `markers` (points, e.g. break-evens) go on the first panel.
    `style_labels`: what solid and dashed lines stand for (e.g. p50, p99); the legend then has one
    entry per group."""
    plt = _pyplot()
    colour = _colours(plt)
    fig, axes = plt.subplots(1, len(panels), figsize=(WIDTH_IN, 4.6), squeeze=False)
    for i, (ax, panel) in enumerate(zip(axes[0], panels)):
        for s in panel.series:
            line, = ax.plot(s.xs, s.ys, marker=s.marker or None, markersize=5, linestyle="--" if s.dashed else "-",
                            markerfacecolor="white" if s.dashed else None,
                            color=colour(s.group or s.label), label=s.label)
            line.set_gid(s.group or s.label if style_labels else s.label)
            if s.yerr and any(s.yerr):
                ax.errorbar(s.xs, s.ys, yerr=s.yerr, fmt="none", ecolor=line.get_color(), elinewidth=1, capsize=3)
            if s.band is not None:
                ax.fill_between(s.xs, s.band[0], s.band[1], color=line.get_color(), alpha=0.15, linewidth=0)
        if i == 0:
            for j, h in enumerate(hlines):
                ax.axhline(h.y, color="0.35", linestyle=(0, (4, 2 + j)), linewidth=1)
                ax.annotate(h.label, xy=(1.0 - 0.3 * (j % 2), h.y), xycoords=("axes fraction", "data"),
                            xytext=(-4, 3), textcoords="offset points", ha="right", va="bottom", fontsize=7,
                            color="0.25", bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.85})
            if markers:
                ax.scatter([m[0] for m in markers], [m[1] for m in markers], s=28, color="black", zorder=5,
                           label="break-even")
        if logx:
            ax.set_xscale("log", base=logx_base)
        if xticks:
            ax.set_xticks(xticks)
            ax.set_xticklabels([f"{x:g}" for x in xticks])
        if panel.logy:
            ax.set_yscale("log")
            _plain_log_ticks(ax.yaxis)
        elif panel.ylim_bottom is not None:
            ax.set_ylim(bottom=panel.ylim_bottom)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(panel.ylabel)
        ax.grid(True, which="major", alpha=0.3)
    fig.suptitle(wrap(title), fontsize=10)
    fig.tight_layout()
    _legend(fig, list(axes[0]), style_labels)
    return _png(fig, plt)


def line_chart(title: str, xlabel: str, ylabel: str, series: list[Series], logx: bool = False,
               logy: bool = False, **kw) -> bytes:
    return line_panels(title, xlabel, [Panel(ylabel, series, logy=logy, ylim_bottom=None if logy else 0)],
                       logx=logx, **kw)


def hbar_chart(title: str, xlabel: str, bars: list[Bar], logx: bool = False, value_labels: bool = True) -> bytes:
    """Horizontal bars, top to bottom in the given order, coloured by category."""
    plt = _pyplot()
    colour = _colours(plt)
    height = min(2.0 + 0.28 * len(bars), 16.0)
    fig, ax = plt.subplots(figsize=(WIDTH_IN, height))
    ys = list(range(len(bars)))[::-1]
    seen = set()
    for y, b in zip(ys, bars):
        label = b.category if b.category not in seen else None
        seen.add(b.category)
        ax.barh(y, b.value, color=colour(b.category), label=label)
        if b.err is not None:
            ax.errorbar([b.value], [y], xerr=[[b.err[0]], [b.err[1]]], fmt="none", ecolor="0.2", elinewidth=1,
                        capsize=3)
        if value_labels:
            right = b.value + (b.err[1] if b.err is not None else 0.0)  # clear of the error bar
            ax.annotate(num(b.value), xy=(right, y), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=7)
    ax.set_yticks(ys)
    ax.set_yticklabels([b.label for b in bars], fontsize=8)
    if logx:
        ax.set_xscale("log")
        _plain_log_ticks(ax.xaxis)
    ax.set_xlabel(xlabel)
    ax.grid(True, axis="x", which="major", alpha=0.3)
    ax.margins(x=0.12)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(wrap(title), fontsize=10)
    # no fig.tight_layout(): savefig(bbox_inches="tight") fits the long labels, one layout pass instead of two
    return _png(fig, plt)
