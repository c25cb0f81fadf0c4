"""The command line's one progress printer: a ProgressFn drawing a tqdm bar on stderr."""
from __future__ import annotations

import sys


def tqdm_progress(desc: str):
    """A ProgressFn drawing a tqdm bar on stderr. The bar is drawn at the first report, not before, so
    input refused before any work gives its ``error: ...`` line alone."""
    bar = []

    def progress(fraction: float, message: str = ""):
        if not bar:
            from tqdm import tqdm

            bar.append(tqdm(total=1000, desc=desc, file=sys.stderr,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}"))
        b = bar[0]
        b.n = int(fraction * 1000)
        b.set_postfix_str(message[:60], refresh=True)
        if fraction >= 1.0:
            b.close()
        return True

    return progress


def progress_for(desc: str, quiet: bool = False):
    """The command's progress bar, or None when its output must stay clean (``--json``)."""
    return None if quiet else tqdm_progress(desc)
