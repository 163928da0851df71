#!/usr/bin/env bash
# The external services of the integration tests: Apache Cassandra 5.0
# (.ci/cassandra.sh) and ClickHouse (.ci/clickhouse.sh).
#
#   source .ci/services.sh   (.ci/run) starts both, exports
#                            EVENTRUNNER_CASSANDRA_HOSTS, EVENTRUNNER_CLICKHOUSE_DSN
#                            and EVENTRUNNER_REQUIRE_SERVICES=1 (tests fail
#                            rather than skip), and stops both when the shell exits
#   .ci/services.sh          (make services) starts both, prints the exports
#                            for another shell, and runs until interrupted
_services_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$_services_dir/cassandra.sh"
source "$_services_dir/clickhouse.sh"

services_start() {
  clickhouse_start || return 1
  cassandra_start || return 1
  export EVENTRUNNER_REQUIRE_SERVICES=1
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  services_start
  cat <<MSG

Services are up. In another shell, run the integration tests with:
  export EVENTRUNNER_CASSANDRA_HOSTS=$EVENTRUNNER_CASSANDRA_HOSTS EVENTRUNNER_CLICKHOUSE_DSN=$EVENTRUNNER_CLICKHOUSE_DSN
  go test ./runtime/store/... ./runtime/analytics/ ./cmd/eventrunner/
or serve on them:
  eventrunner serve --cassandra-hosts $EVENTRUNNER_CASSANDRA_HOSTS --cassandra-consistency ONE --clickhouse-dsn $EVENTRUNNER_CLICKHOUSE_DSN
Ctrl-C stops both.
MSG
  while kill -0 "$CASSANDRA_PID" 2>/dev/null && kill -0 "$CLICKHOUSE_PID" 2>/dev/null; do sleep 2; done
  echo "a service exited" >&2
  exit 1
else
  services_start
fi
