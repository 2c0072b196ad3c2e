#!/usr/bin/env bash
# Fails when C sources call a banned function (curl's checksrc idea):
# unbounded copies (strcpy, strcat, sprintf), atoi (no error reporting) and
# strtok (hidden state). Run by ctest and by `make lint`.
set -euo pipefail
cd "${PACSD_SOURCE_DIR:-$(dirname "$0")/..}"
pattern='\b(strcpy|strcat|sprintf|vsprintf|atoi|atol|strtok|gets)[[:space:]]*\('
if hits=$(grep -rnE "$pattern" --include='*.c' --include='*.h' src tests fuzz bench 2>/dev/null); then
  echo "banned functions used:" >&2
  echo "$hits" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
echo "1 passed, 0 failed"
