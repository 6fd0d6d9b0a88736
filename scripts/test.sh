#!/usr/bin/env bash
# The tests in one command:
#   bash scripts/test.sh [pytest arguments ...]
# installs glow_tf with its test extras (into the active virtual
# environment, else into .venv/ in the clone: see scripts/_env.sh) and runs
# `python -m pytest -n 2 tests`. Arguments are passed on to pytest; test
# paths among them replace `tests` (setup.cfg's testpaths), for example
# `bash scripts/test.sh tests/bijectors -x` or `bash scripts/test.sh -k lu`.
# No test collected (pytest's exit code 5) is a failure too.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/_env.sh
source scripts/_env.sh

"$python" -m pip install -q -e '.[test]'

status=0
"$python" -m pytest -n 2 "$@" || status=$?
if [ "$status" = 5 ]; then
  echo "scripts/test.sh: pytest collected no tests (exit code 5)" >&2
fi
exit "$status"
