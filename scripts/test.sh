#!/usr/bin/env bash
# Set up a virtualenv and run the whole test suite.
#   ./scripts/test.sh                 SQLite; PostgreSQL too when REGISTRY_TEST_POSTGRES_URL is set
#   ./scripts/test.sh -k sanctions    extra arguments go to pytest
# The browser tests need Debian's chromium and fonts-noto-cjk: installed here when
# missing and we are root with apt-get (as in CI); otherwise those tests are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${REGISTRY_VENV:-.venv}

# The tests run in development mode (test secrets are short on purpose); the tests of
# the production refusal turn it off themselves (tests/security/test_keys.py).
export REGISTRY_DEVELOPMENT=1
echo "测试以开发模式运行（REGISTRY_DEVELOPMENT=1）：测试用的短密钥只在开发模式下被接受"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e '.[test]'

# WeasyPrint (the credit report's PDF) needs Pango; Debian's chromium brings it too.
if ! { [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi 'Noto Sans CJK' \
       && ldconfig -p 2>/dev/null | grep -q libpangoft2; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages chromium, fonts-noto-cjk and Pango for the browser tests and the PDF report"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 >/dev/null
  else
    echo "note: /usr/bin/chromium or fonts-noto-cjk missing and not root: browser tests will be skipped"
  fi
fi

exec "$VENV/bin/python" -m pytest "$@"
