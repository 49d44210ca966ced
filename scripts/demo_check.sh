#!/usr/bin/env bash
# Smoke test of `make demo` (run by `make demo-check`, which .ci/run calls after `make test`):
# start `onewindow demo` on a spare port with a fresh var/ directory, wait until /healthz answers, check
# that it printed the URL and the demo accounts, press Ctrl-C (SIGINT to its process group, as a terminal
# does) and check that the web server, worker and scheduler processes have all gone.
#
# Usage: scripts/demo_check.sh [PATH/TO/onewindow]      (default .venv/bin/onewindow)
set -euo pipefail

onewindow=${1:-.venv/bin/onewindow}
python="$(dirname "$onewindow")/python"
startup_timeout=${DEMO_CHECK_STARTUP_TIMEOUT:-180}
stop_timeout=${DEMO_CHECK_STOP_TIMEOUT:-40}

var_dir=$(mktemp -d "${TMPDIR:-/tmp}/onewindow-demo-check.XXXXXX")
log="$var_dir/demo.log"
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"

descendants() {  # every process below $1, deepest last
  local children
  children=$(ps -eo pid=,ppid= | awk -v parent="$1" '$2 == parent {print $1}')
  for child in $children; do
    echo "$child"
    descendants "$child"
  done
}

alive=()
cleanup() {
  local status=$?
  if [ -n "${demo_pid:-}" ] && kill -0 "$demo_pid" 2>/dev/null; then
    kill -KILL -- "-$demo_pid" 2>/dev/null || true
  fi
  for pid in "${alive[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  if [ "$status" -ne 0 ]; then
    echo "--- demo output ($log) ---" >&2
    tail -n 60 "$log" >&2 || true
  fi
  rm -rf "$var_dir"
}
trap cleanup EXIT

echo "demo-check: starting onewindow demo at $url (var dir $var_dir)"
# setsid: the demo leads its own process group, so the SIGINT below reaches it as Ctrl-C would.
# The embedded SQLite database, as for a newcomer: DATABASE_URL (set by .ci/run for the tests) is dropped.
env -u DATABASE_URL ONEWINDOW_VAR_DIR="$var_dir" PORT="$port" setsid "$onewindow" demo --port "$port" >"$log" 2>&1 &
demo_pid=$!

deadline=$((SECONDS + startup_timeout))
until "$python" -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('$url/healthz', timeout=2).status != 200)" 2>/dev/null; do
  if ! kill -0 "$demo_pid" 2>/dev/null; then
    echo "demo-check: onewindow demo exited before answering /healthz" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "demo-check: /healthz did not answer within ${startup_timeout}s" >&2
    exit 1
  fi
  sleep 1
done
echo "demo-check: /healthz answers"

grep -q "$url" "$log" || { echo "demo-check: the URL was not printed" >&2; exit 1; }
grep -q "clerk_hall" "$log" || { echo "demo-check: the demo accounts were not printed" >&2; exit 1; }
mode=$(stat -c %a "$var_dir/demo-accounts.json")
[ "$mode" = 600 ] || { echo "demo-check: demo-accounts.json has mode $mode, expected 600" >&2; exit 1; }

mapfile -t alive < <(descendants "$demo_pid")
echo "demo-check: ${#alive[@]} child processes running; sending SIGINT (Ctrl-C)"
kill -INT -- "-$demo_pid"

deadline=$((SECONDS + stop_timeout))
while kill -0 "$demo_pid" 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "demo-check: onewindow demo still running ${stop_timeout}s after Ctrl-C" >&2
    exit 1
  fi
  sleep 0.5
done
status=0
wait "$demo_pid" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 130 ]; then
  echo "demo-check: onewindow demo exited with $status after Ctrl-C" >&2
  exit 1
fi

left=()
for pid in "${alive[@]}"; do
  if kill -0 "$pid" 2>/dev/null; then left+=("$pid"); fi
done
if [ "${#left[@]}" -ne 0 ]; then
  echo "demo-check: processes still running after Ctrl-C: ${left[*]}" >&2
  ps -o pid,ppid,args -p "$(IFS=,; echo "${left[*]}")" >&2 || true
  exit 1
fi
alive=()
echo "demo-check: ok (started, answered /healthz, stopped cleanly on Ctrl-C)"
