#!/usr/bin/env bash
# Install WordNet 3.0 for NLTK with no internet beyond the Debian mirror (idempotent).
#
# NLTK's own data download needs raw.githubusercontent.com; no PyPI package ships the data.
# Debian's wordnet-base + wordnet-sense-index do, in /usr/share/wordnet, but NLTK 3.10 reads
# only from its data path, refuses symlinks and needs a `lexnames` table no Debian package
# ships. So: copy the files to <nltk data>/corpora/wordnet/ and add lexnames from assets/.
#
# Target: $XTRUST_NLTK_DATA, else <repo>/data/nltk_data (engine.paths.nltk_data_dir()).
# Where the internet is open, the alternative is:
#   XTRUST_NLTK_DATA=... python -c 'import nltk; nltk.download("wordnet", download_dir="$XTRUST_NLTK_DATA")'
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${XTRUST_NLTK_DATA:-$REPO/data/nltk_data}"
DEST="$DATA/corpora/wordnet"
SRC=/usr/share/wordnet
FILES="data.adj data.adv data.noun data.verb index.adj index.adv index.noun index.verb
adj.exc adv.exc noun.exc verb.exc index.sense"

have_all() {
  for f in $FILES lexnames; do [ -s "$1/$f" ] || return 1; done
}

if have_all "$DEST"; then
  echo "WordNet already installed in $DEST"
  exit 0
fi

missing_src=0
for f in $FILES; do [ -s "$SRC/$f" ] || missing_src=1; done
if [ "$missing_src" = 1 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "Installing Debian packages wordnet-base wordnet-sense-index ..."
    # Lock timeout: another apt run (e.g. a parallel setup) may hold the dpkg lock for a while.
    APT="$SUDO apt-get -o DPkg::Lock::Timeout=300"
    $APT install -y --no-install-recommends wordnet-base wordnet-sense-index \
      || { $APT update && $APT install -y --no-install-recommends wordnet-base wordnet-sense-index; }
  else
    echo "WordNet files are missing from $SRC and apt-get is not available." >&2
    echo "With internet access run: python -c 'import nltk; nltk.download(\"wordnet\", download_dir=\"$DATA\")'" >&2
    exit 1
  fi
fi

mkdir -p "$DEST"
for f in $FILES; do
  # -L: copy file contents (NLTK refuses symlinks)
  cp -L "$SRC/$f" "$DEST/$f"
done
for f in cntlist.rev LICENSE; do
  [ -s "$SRC/$f" ] && cp -L "$SRC/$f" "$DEST/$f" || true
done
cp "$REPO/assets/wordnet/lexnames" "$DEST/lexnames"
echo "WordNet installed in $DEST"
