# shellcheck shell=bash
# ClickHouse for the integration tests: Debian's clickhouse-server package
# (18.16), run without systemd as the current user with its data in a
# temporary directory, listening on loopback, stopped by PID when the sourcing
# shell exits.
#
# Source it from bash (.ci/run, .ci/services.sh), then call clickhouse_start:
# on success EVENTRUNNER_CLICKHOUSE_DSN is exported. Knobs: CLICKHOUSE_PORT
# (native), CLICKHOUSE_HTTP_PORT, CLICKHOUSE_WAIT (seconds).

CLICKHOUSE_PORT=${CLICKHOUSE_PORT:-9000}
CLICKHOUSE_HTTP_PORT=${CLICKHOUSE_HTTP_PORT:-8123}
CLICKHOUSE_WAIT=${CLICKHOUSE_WAIT:-60}
_ci_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=.ci/exit-hooks.sh
source "$_ci_dir/exit-hooks.sh"

# clickhouse_install installs the Debian packages unless the server is there.
clickhouse_install() {
  local bin
  bin=$(clickhouse_bin) && return 0
  echo "clickhouse: installing clickhouse-server and clickhouse-client (apt)"
  local sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null
  clickhouse_bin >/dev/null
}

clickhouse_bin() {
  local b
  for b in /usr/bin/clickhouse-server /usr/sbin/clickhouse-server "$(command -v clickhouse-server 2>/dev/null)"; do
    [ -n "$b" ] && [ -x "$b" ] && { echo "$b"; return 0; }
  done
  return 1
}

# clickhouse_start installs, starts and waits for the server (/ping), then
# exports EVENTRUNNER_CLICKHOUSE_DSN.
clickhouse_start() {
  local bin dir i
  clickhouse_install || { echo "clickhouse: could not install clickhouse-server" >&2; return 1; }
  bin=$(clickhouse_bin)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/eventrunner-clickhouse.XXXXXX")
  CLICKHOUSE_DIR=$dir
  mkdir -p "$dir/log" "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas"
  sed -e "s|@DIR@|$dir|g" -e "s|@TCP_PORT@|$CLICKHOUSE_PORT|g" -e "s|@HTTP_PORT@|$CLICKHOUSE_HTTP_PORT|g" \
    "$_ci_dir/clickhouse-config.xml.tmpl" >"$dir/config.xml"
  cp "$_ci_dir/clickhouse-users.xml" "$dir/users.xml"
  echo "clickhouse: starting $bin on 127.0.0.1:$CLICKHOUSE_PORT (http $CLICKHOUSE_HTTP_PORT), data in $dir"
  (cd "$dir" && exec "$bin" --config-file="$dir/config.xml") </dev/null >"$dir/log/stdout.log" 2>&1 &
  CLICKHOUSE_PID=$!
  ci_on_exit clickhouse_stop
  ci_watchdog "$CLICKHOUSE_PID"
  for ((i = 0; i < CLICKHOUSE_WAIT * 5; i++)); do
    if clickhouse_ping; then
      export EVENTRUNNER_CLICKHOUSE_DSN="clickhouse://default@127.0.0.1:$CLICKHOUSE_PORT/default"
      echo "clickhouse: ready (pid $CLICKHOUSE_PID, version $(clickhouse-client --port "$CLICKHOUSE_PORT" --query 'SELECT version()' 2>/dev/null)): EVENTRUNNER_CLICKHOUSE_DSN=$EVENTRUNNER_CLICKHOUSE_DSN"
      return 0
    fi
    if ! kill -0 "$CLICKHOUSE_PID" 2>/dev/null; then
      echo "clickhouse: exited during startup" >&2
      break
    fi
    sleep 0.2
  done
  echo "clickhouse: not ready; last log lines:" >&2
  tail -n 40 "$dir/log/"*.log >&2 2>/dev/null
  return 1
}

# clickhouse_ping answers whether the server takes queries (HTTP /ping,
# or the client where curl is missing).
clickhouse_ping() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS "http://127.0.0.1:$CLICKHOUSE_HTTP_PORT/ping" >/dev/null 2>&1
  else
    clickhouse-client --port "$CLICKHOUSE_PORT" --query 'SELECT 1' >/dev/null 2>&1
  fi
}

clickhouse_stop() {
  [ -n "${CLICKHOUSE_PID:-}" ] || return 0
  ci_stop_pid "$CLICKHOUSE_PID" clickhouse
  CLICKHOUSE_PID=
  [ -n "${CLICKHOUSE_DIR:-}" ] && rm -rf "$CLICKHOUSE_DIR"
}
