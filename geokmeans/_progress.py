"""Progress bars (``tqdm.auto``: a widget in notebooks, text on stderr elsewhere) for
restarts, k sweeps and Dask iterations; nothing at all unless ``progress`` asks for one.

``progress`` (checked by ``_validation``) is ``False`` (no bar), ``True`` (a bar) or, where
an API accepts one, a callable ``progress(done, total)`` called after each step instead.
The library never prints otherwise; the command line asks for bars only when its
stderr is a terminal.
"""

__all__ = ["RunProgress", "bar"]


class _Callback:
    """A callable ``progress(done, total)`` behind the interface of a bar."""

    def __init__(self, function, total):
        self.function, self.total, self.n = function, total, 0

    def update(self, n=1):
        self.n += n
        self.function(self.n, self.total)

    def close(self):
        pass


class _Nothing:
    def update(self, n=1):
        pass

    def close(self):
        pass


def bar(progress, total, desc, unit="it", leave=True):
    """A bar of ``total`` steps named ``desc`` for ``progress`` (see the module
    docstring): a ``tqdm.auto.tqdm`` for ``True``, the callable wrapped, or an object
    that does nothing for ``False``. Its file is ``sys.stderr`` as it is when the bar
    starts."""
    if callable(progress):
        return _Callback(progress, total)
    if progress:
        return _tqdm()(total=total, desc=desc, unit=unit, leave=leave, dynamic_ncols=True)
    return _Nothing()


def _tqdm():
    """``tqdm.auto``'s bar (a widget in notebooks), or the text bar when ipywidgets,
    which draws the widget, is not installed (``tqdm.auto`` would warn, then draw text)."""
    import importlib.util

    if importlib.util.find_spec("ipywidgets") is None:
        from tqdm.std import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm


class RunProgress:
    """The bars of one fit: restarts (``n_runs`` seedings, each followed by Lloyd) and,
    for a distributed source with ``progress=True``, the Lloyd iterations of each run (a
    bar of up to ``max_iter`` steps, closed where the run converged).

    ``callbacks(index)`` fits ``core._driver.best_of``'s argument of that name: it is
    called as run ``index`` starts (so run ``index - 1`` is done) and returns the
    iteration callback of that run (``iteration_callbacks(index)`` chained, if given;
    None when there is nothing to call, so that no iteration computes its inertia for
    nothing). ``close()``, after ``best_of``, counts the last run and closes the bars.
    """

    def __init__(self, progress, n_runs, max_iter, distributed, iteration_callbacks=None):
        self.progress, self.n_runs, self.max_iter = progress, n_runs, max_iter
        self.per_iteration = distributed and not callable(progress) and bool(progress)
        self.inner = iteration_callbacks
        self.runs = bar(progress, n_runs, "restarts", unit="run")
        self.done = 0
        self.iterations = None

    def callbacks(self, index):
        self._close_iterations()
        if index > self.done and self.done < self.n_runs:
            self.runs.update(index - self.done)
            self.done = index
        inner = None if self.inner is None else self.inner(index)
        if not self.per_iteration:
            return inner
        desc = f"run {index + 1}/{self.n_runs}" if self.n_runs > 1 else "iterations"
        iterations = self.iterations = bar(True, self.max_iter, desc, unit="iteration",
                                           leave=False)

        def callback(iteration, inertia):
            iterations.update(1)
            if inner is not None:
                inner(iteration, inertia)

        return callback

    def _close_iterations(self):
        if self.iterations is not None:
            self.iterations.close()
            self.iterations = None

    def close(self, finished=True):
        """Count the runs not counted yet (the last; not if the fit did not
        ``finished``) and close the bars."""
        self._close_iterations()
        if finished and self.done < self.n_runs:
            self.runs.update(self.n_runs - self.done)
            self.done = self.n_runs
        self.runs.close()
