#!/usr/bin/env bash
# XTrust in two commands (Debian/Ubuntu, Python 3.11):
#   ./xtrust.sh app    install whatever is missing, then start the dashboard (BibTeX by default)
#   ./xtrust.sh test   install whatever is missing (plus the test browser), then run every test
# Idempotent: a second run installs nothing and starts at once.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
VENV=${XTRUST_VENV:-$ROOT/.venv}
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

apt_install() {  # apt_install PKG... : install Debian packages that are missing
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "[xtrust] apt-get install ${missing[*]}"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python() {
  if [ ! -x "$VENV/bin/python" ]; then
    echo "[xtrust] creating $VENV"
    "$PY" -m venv "$VENV"
  fi
  local stamp="$VENV/.xtrust-requirements.sha256"
  local want; want=$(sha256sum requirements.txt | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "[xtrust] pip install -r requirements.txt (first time: a few minutes)"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q ${XTRUST_TORCH_INDEX:+--extra-index-url "$XTRUST_TORCH_INDEX"} -r requirements.txt
    echo "$want" > "$stamp"
  fi
}

install_wordnet() {
  if [ -f scripts/install_wordnet.sh ]; then
    XTRUST_PYTHON="$VENV/bin/python" bash scripts/install_wordnet.sh
  fi
}

case "${1:-}" in
  app)
    install_python
    install_wordnet
    shift
    export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
    exec "$VENV/bin/streamlit" run dashboard/app.py --server.headless true "$@"
    ;;
  test)
    install_python
    install_wordnet
    apt_install chromium
    shift
    # XTRUST_AUTO_TRAIN=0: CI never trains the first-start X-Transformer by itself
    export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false XTRUST_AUTO_TRAIN=0
    exec "$VENV/bin/python" -m pytest -q -rs "$@"
    ;;
  *)
    echo "usage: ./xtrust.sh app | test" >&2
    exit 64
    ;;
esac
