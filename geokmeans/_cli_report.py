"""What the commands print on stdout: a clustering's one-line summary and per-cluster
table, data values made safe for a terminal, and a failing stdout named in the error."""

import contextlib
import errno
import sys

from ._formatting import format_distance, format_limits, format_size

__all__ = ["cluster_table", "printable", "report", "stdout_errors"]


def cluster_table(centroids, limit=20, by=None):
    rows = centroids.sort_values("n_points", ascending=False)
    shown = rows.head(limit)
    limited = "size_min" in rows.columns
    groups = [] if by is None else [printable(v) for v in shown[by].tolist()]
    width = max([len(str(by or "")), *map(len, groups)]) if by is not None else 0
    lines = [f"{'cluster':>7} " + (f"{by:<{width}} " if by is not None else "")
             + f"{'points':>9} {'weight':>12} {'mean dist':>10} {'max dist':>10} "
             f"{'lon':>11} {'lat':>10}" + (f" {'size limits':>23}" if limited else "")]
    for i, row in enumerate(shown.itertuples()):
        group = f"{groups[i]:<{width}} " if by is not None else ""
        lines.append(f"{row.cluster:>7} {group}{row.n_points:>9,} {format_size(row.weight):>12} "
                     f"{format_distance(row.mean_distance_m):>10} "
                     f"{format_distance(row.max_distance_m):>10} "
                     f"{row.geometry.x:>11.5f} {row.geometry.y:>10.5f}"
                     + (f" {format_limits(row.size_min, row.size_max):>23}" if limited else ""))
    if len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more clusters (largest {limit} shown)")
    return "\n".join(lines)


def printable(value):
    """A value from the data as terminal text: as it is when printable, else its repr
    (control characters escaped, so no data value drives the terminal)."""
    text = str(value)
    return text if text.isprintable() else repr(text)


@contextlib.contextmanager
def stdout_errors():
    """Name stdout in the error when writing the report fails (full device, closed pipe,
    a process started with its stdout closed)."""
    if sys.stdout is None:  # ``>&-``: print would drop the report without a word
        raise OSError(errno.EBADF, "cannot write the report to stdout: it is closed")
    try:
        yield
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write the report to stdout: {exc.strerror}") from None


def report(result, args, elapsed, k):
    """The one-line summary and the per-cluster table, on stdout."""
    model = result._fitted  # with --by: the groups' fits combined
    n_points = int(result.centroids.n_points.sum())
    k_text, asked, per = f"k={model.n_clusters_}", k, ""
    if result.models is not None:
        asked, per = k * len(result.models), " per group"
        k_text += f" in {len(result.models):,} groups by {printable(result.by)}"
    if model.n_clusters_ != asked:
        k_text += f" (from -k {k}{per}, split to a {args.max_radius_m:g} m radius)"
    dropped = f", {model.n_dropped_:,} rows skipped" if model.n_dropped_ else ""
    print(f"{n_points:,} points{dropped}, {k_text}, CRS {model.crs_}, inertia "
          f"{model.inertia_:.6g} m², {model.n_iter_} iterations, {elapsed:.2f} s")
    print(cluster_table(result.centroids, by=result.by))
