"""Matplotlib for report files (no display) and the one way reports finish a figure."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["finish", "plt"]


def finish(fig, ax, path: Path, xlabel: str, ylabel: str, legend_size: int = 8, dpi: int = 110) -> None:
    """Label the axes, add the legend, write the PNG and free the figure."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend_size:  # 0: no legend (a heatmap)
        ax.legend(fontsize=legend_size)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
