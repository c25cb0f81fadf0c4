#!/usr/bin/env bash
# Train the X-Transformer on full BibTeX (CPU) into the default model store and print its metrics.
# Usage: scripts/train_xtransformer_full.sh [max_tokens] [epochs] [threads] [flat 0|1]   (log: /tmp/xtf_full.log)
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
TOKENS="${1:-64}" EPOCHS="${2:-1}" THREADS="${3:-1}" FLAT="${4:-0}"
nice -n 10 .venv/bin/python - "$TOKENS" "$EPOCHS" "$THREADS" "$FLAT" <<'PY' 2>&1 | tee /tmp/xtf_full.log
import sys, time
from engine import pipeline
from engine.models.xtransformer import XTransformerParams

tokens, epochs, threads, flat = (int(a) for a in sys.argv[1:5])
last = [0.0]
def progress(f, msg):
    if time.time() - last[0] > 20 or f >= 1.0:
        last[0] = time.time()
        print(f"{time.strftime('%H:%M:%S')} {f:6.1%} {msg}", flush=True)
t = time.time()
info = pipeline.train_model("bibtex", "xtransformer", params=XTransformerParams(max_tokens=tokens, epochs=epochs, threads=threads,
                                                                                       fine_tune_flat=bool(flat)),
                            progress=progress)
m = info.manifest
print(f"wall {time.time() - t:.0f}s train_seconds {m['train_seconds']} params {m['params']}")
print({k: round(v, 4) for k, v in m["metrics"].items() if k[:2] in ("P@", "R@")})
print("saved to", info.path)
PY
