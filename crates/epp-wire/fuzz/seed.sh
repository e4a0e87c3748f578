#!/bin/sh
# Seeds corpus/decode/ from the command fixtures: each seed is a 4-byte RFC 5734 header
# (big-endian total length, header included) followed by the XML document.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../../../tests/fixtures"
mkdir -p "$here/corpus/decode"
for f in "$fixtures"/commands/*.xml; do
    [ -f "$f" ] || continue
    python3 -c 'import sys,struct; d=open(sys.argv[1],"rb").read(); sys.stdout.buffer.write(struct.pack(">I", len(d)+4)+d)' "$f" \
        > "$here/corpus/decode/$(basename "$f" .xml)"
done

# Regression inputs are already framed.
cp "$here"/../tests/regressions/*.bin "$here/corpus/decode/" 2>/dev/null || true
echo "seeded $(ls "$here/corpus/decode" | wc -l) inputs"
