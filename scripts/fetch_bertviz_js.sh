#!/usr/bin/env bash
# Fetch the three JS libraries BertViz loads from a CDN (require.js 2.3.6, d3 5.7.0, jQuery 2.2.4)
# from the npm registry and copy their minified builds + licences into assets/bertviz/, so the
# BertViz views render with no internet (engine/explain/offline_js.py inlines them).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/assets/bertviz"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$DEST"
cd "$TMP"
npm pack --silent requirejs@2.3.6 d3@5.7.0 jquery@2.2.4 >/dev/null
for pkg in requirejs-2.3.6 d3-5.7.0 jquery-2.2.4; do
  mkdir -p "$pkg" && tar -xzf "$pkg.tgz" -C "$pkg"
done
cp requirejs-2.3.6/package/require.js "$DEST/require-2.3.6.js"
# The requirejs npm package ships no LICENSE file and no minified build: keep require.js as is
# (its header says MIT) and write the MIT text with its copyright line.
{ sed -n '2,3p' requirejs-2.3.6/package/require.js | sed 's/^ \* //'; echo; cat <<'MIT'
Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES
OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
MIT
} > "$DEST/LICENSE.requirejs"
cp d3-5.7.0/package/dist/d3.min.js "$DEST/d3-5.7.0.min.js"
cp d3-5.7.0/package/LICENSE "$DEST/LICENSE.d3"
cp jquery-2.2.4/package/dist/jquery.min.js "$DEST/jquery-2.2.4.min.js"
cp jquery-2.2.4/package/LICENSE.txt "$DEST/LICENSE.jquery"
(cd "$DEST" && sha256sum require-2.3.6.js d3-5.7.0.min.js jquery-2.2.4.min.js > SHA256SUMS)
echo "wrote $(ls "$DEST" | tr '\n' ' ')to $DEST"
