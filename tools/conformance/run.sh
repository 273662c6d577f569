#!/bin/sh
# Run tinygrad's op and layer suites (test/backend/test_ops.py, test_nn.py) on glassnet
# through the adapter in shim/.
#   tools/conformance/run.sh TINYGRAD_CHECKOUT [WORK_DIR]
# TINYGRAD_CHECKOUT: a clone (or bare clone) of https://github.com/tinygrad/tinygrad; nothing
# of it is copied into this repository. glassnet comes from the environment (PYTHON, default
# .venv/bin/python; put another glassnet's src first on PYTHONPATH to measure it). Prints, per
# suite, "passed P / scored S" and every skip and failure with its reason.
set -e
here=$(cd "$(dirname "$0")" && pwd)
tg=${1:?usage: run.sh TINYGRAD_CHECKOUT [WORK_DIR]}
work=${2:-/tmp/glassnet_conformance}
py=${PYTHON:-$here/../../.venv/bin/python}
mkdir -p "$work"
cp "$here/tinygrad_only.py" "$work/conftest.py"      # the adapter's short skip list
for suite in test_ops test_nn; do
  if [ -f "$tg/test/backend/$suite.py" ]; then cp "$tg/test/backend/$suite.py" "$work/"
  else git -C "$tg" show "HEAD:test/backend/$suite.py" > "$work/$suite.py"  # a bare clone
  fi
  echo "== $suite"
  (cd "$work" && PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$here/shim" \
    OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} "$py" -m pytest "$suite.py" -q \
    -p no:cacheprovider --tb=line --junitxml="$work/$suite.xml" > "$work/$suite.log" 2>&1) || true
  "$py" "$here/summarize.py" "$work/$suite.xml" -v
done
