"""The command line (``python -m engine ...``): engine/cli/main.py builds the parser and runs the
commands; explain.py, attacks.py and certify.py add their sub-commands; progress.py draws the bars."""
from engine.cli.main import build_parser, main, preflight  # noqa: F401
from engine.cli.progress import tqdm_progress  # noqa: F401
