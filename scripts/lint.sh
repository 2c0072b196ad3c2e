#!/usr/bin/env bash
# Static checks: banned functions, cppcheck, clang-format (report only).
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0
bash scripts/banned.sh || rc=1
if command -v cppcheck >/dev/null; then
  cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability \
    --suppress=missingIncludeSystem -Isrc src || rc=1
fi
if command -v clang-format >/dev/null; then
  files=$(git ls-files 'src/*.c' 'src/*.h' | grep -v dict_data.c)
  clang-format --dry-run $files 2>&1 | grep -c warning | xargs -I{} echo "clang-format: {} lines differ from .clang-format (advisory)"
fi
exit $rc
