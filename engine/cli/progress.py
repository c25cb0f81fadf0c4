"""The command line's one progress printer: a ProgressFn drawing a tqdm bar on stderr."""
from __future__ import annotations

import sys


def tqdm_progress(desc: str):
    """A ProgressFn drawing a tqdm bar on stderr."""
    from tqdm import tqdm

    bar = tqdm(total=1000, desc=desc, file=sys.stderr, bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}")

    def progress(fraction: float, message: str = ""):
        bar.n = int(fraction * 1000)
        bar.set_postfix_str(message[:60], refresh=True)
        if fraction >= 1.0:
            bar.close()
        return True

    return progress
