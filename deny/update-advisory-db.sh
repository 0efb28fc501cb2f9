#!/usr/bin/env bash
# Refreshes the vendored RustSec advisory database (deny/advisory-db.tar.gz: its `crates/`
# advisories and licence, CC0-1.0) from a clone of https://github.com/rustsec/advisory-db.
#
#   git clone --depth 1 https://github.com/rustsec/advisory-db /tmp/advisory-db
#   bash deny/update-advisory-db.sh /tmp/advisory-db
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=${1:?the path of an advisory-db clone}
COMMIT=$(git -C "$SRC" rev-parse HEAD)
DATE=$(git -C "$SRC" show -s --format=%cI HEAD)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
git -C "$SRC" archive HEAD crates LICENSE.txt | tar -x -C "$TMP"
tar czf deny/advisory-db.tar.gz -C "$TMP" --owner=0 --group=0 --mtime="$DATE" --sort=name .
echo "rustsec/advisory-db $COMMIT $DATE" >deny/SNAPSHOT
echo "advisory-db snapshot: $COMMIT of $DATE"
