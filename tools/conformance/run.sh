#!/bin/sh
# Run tinygrad's op suite (test/backend/test_ops.py) on glassnet through the adapter in shim/.
#   tools/conformance/run.sh TINYGRAD_CHECKOUT [WORK_DIR]
# TINYGRAD_CHECKOUT: a clone (or bare clone) of https://github.com/tinygrad/tinygrad; nothing
# of it is copied into this repository. glassnet itself comes from the environment (PYTHON, default
# .venv/bin/python). Prints "passed P / scored S" and every skip and failure with its reason.
set -e
here=$(cd "$(dirname "$0")" && pwd)
tg=${1:?usage: run.sh TINYGRAD_CHECKOUT [WORK_DIR]}
work=${2:-/tmp/glassnet_conformance}
py=${PYTHON:-$here/../../.venv/bin/python}
mkdir -p "$work"
if [ -f "$tg/test/backend/test_ops.py" ]; then cp "$tg/test/backend/test_ops.py" "$work/"
elif [ -f "$tg/test/test_ops.py" ]; then cp "$tg/test/test_ops.py" "$work/"  # older layout
else git -C "$tg" show HEAD:test/backend/test_ops.py > "$work/test_ops.py"  # a bare clone
fi
cp "$here/tinygrad_only.py" "$work/conftest.py"      # the adapter's short skip list
cd "$work"
PYTHONPATH="$here/shim${PYTHONPATH:+:$PYTHONPATH}" OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} \
  "$py" -m pytest test_ops.py -q -p no:cacheprovider --tb=line --junitxml="$work/result.xml" \
  > "$work/pytest.log" 2>&1 || true
"$py" "$here/summarize.py" "$work/result.xml" -v
