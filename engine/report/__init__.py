"""python -m engine report: every table of the paper with the paper's number and ours side by side."""
