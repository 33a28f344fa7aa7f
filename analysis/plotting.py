"""Charts for the analyst notebooks, with Japanese text that renders (no tofu boxes).

Call :func:`use_japanese_font` once before plotting. Every chart function takes a tidy
DataFrame from :mod:`analysis.satisfaction`, :mod:`analysis.store` or
:mod:`analysis.cooccurrence`, draws on `ax` (a new figure when omitted) and returns the axes;
none computes figures of its own. Needs ``matplotlib`` (and ``networkx`` for the network),
the ``notebooks`` extra.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import font_manager
from matplotlib.ticker import PercentFormatter

__all__ = [
    "JAPANESE_FONTS",
    "find_japanese_font",
    "plot_bars",
    "plot_cooccurrence_network",
    "plot_intervals",
    "plot_share_heatmap",
    "plot_trend",
    "use_japanese_font",
]

# Preferred first: Debian's fonts-noto-cjk ships "Noto Sans CJK JP".
JAPANESE_FONTS = ("Noto Sans CJK JP", "Noto Sans JP", "IPAexGothic", "IPAGothic",
                  "Hiragino Sans", "Yu Gothic", "Meiryo", "TakaoGothic", "VL Gothic")
_INSTALL_HINT = ("no Japanese (CJK) font is installed for matplotlib; install Noto Sans CJK JP "
                 "(Debian/Ubuntu: sudo apt-get install fonts-noto-cjk, or `make system-deps`), "
                 "then delete matplotlib's font cache (~/.cache/matplotlib) and restart the kernel")


def find_japanese_font(preferred=JAPANESE_FONTS):
    """Return the name of the first installed font in `preferred`, or None.

    Parameters
    ----------
    preferred : sequence of str
        Font family names, best first.

    Returns
    -------
    str or None
    """
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    for name in preferred:
        if name in installed:
            return name
    return None


def use_japanese_font(preferred=JAPANESE_FONTS):
    """Make matplotlib draw Japanese text with an installed CJK font.

    Parameters
    ----------
    preferred : sequence of str
        Font family names, best first (default: Noto Sans CJK JP first).

    Returns
    -------
    str
        The font family now used.

    Raises
    ------
    RuntimeError
        When none of the fonts is installed (says how to install Noto Sans CJK JP).
    """
    name = find_japanese_font(preferred)
    if name is None:
        # A font installed after matplotlib built its cache is found only after a rescan.
        font_manager.fontManager = font_manager._load_fontmanager(try_read_cache=False)
        name = find_japanese_font(preferred)
    if name is None:
        raise RuntimeError(_INSTALL_HINT)
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["font.sans-serif"] = [name, *[f for f in plt.rcParams["font.sans-serif"]
                                               if f != name]]
    plt.rcParams["axes.unicode_minus"] = False
    return name


def _axes(ax, width=8.0, height=None, rows=10):
    if ax is not None:
        return ax
    height = height if height is not None else max(2.5, 0.32 * rows + 1.2)
    _figure, new_ax = plt.subplots(figsize=(width, height), layout="constrained")
    return new_ax


def plot_bars(frame, label, value, ax=None, title=None, xlabel=None, percent=False, top=None):
    """Horizontal bar chart, largest bar on top.

    Parameters
    ----------
    frame : pandas.DataFrame
    label, value : str
        Columns with the bar labels and lengths.
    ax : matplotlib.axes.Axes, optional
    title, xlabel : str, optional
    percent : bool, default False
        Values are shares in [0, 1]; show them as percentages.
    top : int, optional
        Show only the `top` largest values.

    Returns
    -------
    matplotlib.axes.Axes
    """
    data = frame.sort_values(value, ascending=False, kind="stable")
    if top is not None:
        data = data.head(top)
    ax = _axes(ax, rows=len(data))
    positions = np.arange(len(data))
    ax.barh(positions, data[value].to_numpy(dtype=float), color="#4c72b0")
    ax.set_yticks(positions, data[label].astype(str).tolist())
    ax.invert_yaxis()
    if percent:
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    if title:
        ax.set_title(title)
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    return ax


def plot_intervals(frame, label, estimate, low, high, ax=None, reference=None, title=None,
                   xlabel=None, percent=True, sort=True):
    """Point estimates with confidence intervals (a forest plot), one row per group.

    Rows whose estimate is NaN (suppressed groups) are left out.

    Parameters
    ----------
    frame : pandas.DataFrame
    label, estimate, low, high : str
        Columns: row label, estimate and interval bounds (e.g. ``satisfaction_rate``,
        ``satisfaction_low``, ``satisfaction_high``).
    ax : matplotlib.axes.Axes, optional
    reference : float, optional
        Draw a vertical line here (e.g. the 90% target, or 0 for differences); estimates
        below it are drawn in a warning colour.
    title, xlabel : str, optional
    percent : bool, default True
    sort : bool, default True
        Highest estimate on top.

    Returns
    -------
    matplotlib.axes.Axes
    """
    data = frame[frame[estimate].notna()]
    if sort:
        data = data.sort_values(estimate, ascending=False, kind="stable")
    ax = _axes(ax, rows=len(data))
    positions = np.arange(len(data))
    values = data[estimate].to_numpy(dtype=float)
    errors = np.vstack([values - data[low].to_numpy(dtype=float),
                        data[high].to_numpy(dtype=float) - values])
    below = values < reference if reference is not None else np.zeros(len(values), dtype=bool)
    for mask, colour in ((~below, "#4c72b0"), (below, "#c44e52")):
        if mask.any():
            ax.errorbar(values[mask], positions[mask], xerr=errors[:, mask], fmt="o",
                        color=colour, ecolor=colour, capsize=3, markersize=4)
    if reference is not None:
        ax.axvline(reference, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(positions, data[label].astype(str).tolist())
    ax.set_ylim(len(data) - 0.5, -0.5)
    if percent:
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    if title:
        ax.set_title(title)
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    return ax


def plot_trend(frame, period, estimate, low=None, high=None, group=None, ax=None,
               reference=None, title=None, ylabel=None, percent=True, top=None):
    """Lines over periods (months, fiscal years), optionally one per group, with bands.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy: one row per period (and group).
    period, estimate : str
        Columns of the x axis and of the value.
    low, high : str, optional
        Interval bounds drawn as a shaded band.
    group : str, optional
        One line per value of this column.
    ax : matplotlib.axes.Axes, optional
    reference : float, optional
        Horizontal reference line (e.g. 0.9).
    title, ylabel : str, optional
    percent : bool, default True
    top : int, optional
        With `group`: only the `top` groups with the largest total of `estimate`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, width=9.0, height=4.5)
    periods = sorted(frame[period].dropna().astype(str).unique())
    x_of = {p: i for i, p in enumerate(periods)}
    if group is None:
        groups = [(None, frame)]
    else:
        totals = frame.groupby(group)[estimate].sum().sort_values(ascending=False, kind="stable")
        keep = list(totals.index[:top] if top is not None else totals.index)
        groups = [(name, frame[frame[group] == name]) for name in keep]
    for name, data in groups:
        data = data.assign(_x=data[period].astype(str).map(x_of)).sort_values("_x")
        line, = ax.plot(data["_x"], data[estimate], marker="o", markersize=3,
                        label=None if name is None else str(name))
        if low is not None and high is not None:
            ax.fill_between(data["_x"], data[low].astype(float), data[high].astype(float),
                            color=line.get_color(), alpha=0.15, linewidth=0)
    if reference is not None:
        ax.axhline(reference, color="grey", linestyle="--", linewidth=1)
    step = max(1, math.ceil(len(periods) / 12))
    ax.set_xticks(range(0, len(periods), step), periods[::step], rotation=45, ha="right")
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    if group is not None:
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    if title:
        ax.set_title(title)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return ax


def plot_share_heatmap(frame, index, columns, values, ax=None, title=None, percent=True,
                       annotate=True):
    """Heat map of a tidy table (e.g. theme shares per facility or respondent group).

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy: one row per (index, columns) cell.
    index, columns, values : str
        Columns giving the rows, the columns and the cell values of the map.
    ax : matplotlib.axes.Axes, optional
    title : str, optional
    percent : bool, default True
        Annotate cells as percentages.
    annotate : bool, default True
        Write each value in its cell.

    Returns
    -------
    matplotlib.axes.Axes
    """
    table = frame.pivot_table(index=index, columns=columns, values=values, aggfunc="sum",
                              sort=True)
    ax = _axes(ax, width=max(6.0, 0.7 * table.shape[1] + 3), rows=table.shape[0])
    image = ax.imshow(table.to_numpy(dtype=float), aspect="auto", cmap="Blues")
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns], rotation=45,
                  ha="right")
    ax.set_yticks(range(table.shape[0]), [str(i) for i in table.index])
    if annotate:
        top = np.nanmax(table.to_numpy(dtype=float)) if table.size else 0.0
        for (row, column), value in np.ndenumerate(table.to_numpy(dtype=float)):
            if np.isnan(value):
                continue
            text = f"{value:.0%}" if percent else f"{value:g}"
            ax.text(column, row, text, ha="center", va="center", fontsize=7,
                    color="white" if value > 0.6 * top else "black")
    ax.figure.colorbar(image, ax=ax,
                       format=PercentFormatter(1.0) if percent else None, shrink=0.8)
    if title:
        ax.set_title(title)
    return ax


def _network_layout(graph, seed):
    """Lay out each connected component on its own, on a grid, the largest first and larger.

    Unweighted, so that words that always go together (Jaccard 1) are not drawn on top of
    each other.
    """
    import networkx as nx

    components = sorted(nx.connected_components(graph), key=lambda c: (-len(c), min(c)))
    # Shelf packing: a component gets a square of side sqrt(size), rows as wide as the whole.
    width = 1.3 * math.sqrt(graph.number_of_nodes())
    layout, x, y, row_height = {}, 0.0, 0.0, 0.0
    for nodes in components:
        side = math.sqrt(len(nodes))
        if x > 0 and x + side > width:
            x, y, row_height = 0.0, y - row_height, 0.0
        centre = np.array([x + side / 2, y - side / 2])
        x, row_height = x + side, max(row_height, side)
        if len(nodes) == 1:
            positions = {next(iter(nodes)): np.zeros(2)}
        else:
            sub = graph.subgraph(nodes)
            # Kamada-Kawai start, then a few Fruchterman-Reingold steps to part crowded nodes.
            start = nx.kamada_kawai_layout(sub, weight=None)
            positions = nx.spring_layout(sub, pos=start, weight=None, seed=seed, iterations=30,
                                         k=1.5 / math.sqrt(len(nodes)), scale=1.0)
        for node, position in positions.items():
            layout[node] = centre + 0.42 * side * np.asarray(position)
    return layout


def plot_cooccurrence_network(graph, ax=None, title=None, seed=0):
    """Draw a word co-occurrence network as KH Coder does.

    Node size follows the word's frequency, colour its community, edge width the Jaccard
    coefficient.

    Parameters
    ----------
    graph : networkx.Graph
        From :func:`analysis.cooccurrence.cooccurrence_graph`.
    ax : matplotlib.axes.Axes, optional
    title : str, optional
    seed : int, default 0
        Seed of the spring layout (same picture on every run).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import networkx as nx

    ax = _axes(ax, width=10.0, height=8.0)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    if graph.number_of_nodes() == 0:
        ax.text(0.5, 0.5, "共起する語がありません", ha="center", va="center",
                transform=ax.transAxes)
        return ax
    layout = _network_layout(graph, seed)
    counts = np.array([graph.nodes[n].get("count", 1) for n in graph.nodes], dtype=float)
    sizes = 120 + 900 * np.sqrt(counts / counts.max())
    palette = plt.get_cmap("tab20").colors
    colours = [palette[graph.nodes[n].get("community", 0) % len(palette)] for n in graph.nodes]
    weights = np.array([graph.edges[e]["weight"] for e in graph.edges], dtype=float)
    widths = 0.5 + 4 * weights / weights.max() if len(weights) else []
    nx.draw_networkx_edges(graph, layout, ax=ax, width=widths, edge_color="#999999", alpha=0.7)
    nx.draw_networkx_nodes(graph, layout, ax=ax, node_size=sizes, node_color=colours,
                           alpha=0.9, linewidths=0.5, edgecolors="white")
    labels = {n: graph.nodes[n].get("label", n) for n in graph.nodes}
    family = plt.rcParams["font.sans-serif"][0]
    nx.draw_networkx_labels(graph, layout, labels=labels, ax=ax, font_size=9,
                            font_family=family)
    return ax

