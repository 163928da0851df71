# shellcheck shell=bash
# Apache Cassandra 5.0 for the integration tests, without Docker or a distro
# package: the jars come from Maven Central (cached in ~/.m2 and
# ~/.cache/eventrunner), a single node runs on Java 17 with its data in a
# temporary directory, and it is stopped by PID when the sourcing shell exits.
#
# Source it from bash (.ci/run, .ci/services.sh), then call cassandra_start:
# on success EVENTRUNNER_CASSANDRA_HOSTS is exported. Knobs: CASSANDRA_VERSION,
# CASSANDRA_PORT, CASSANDRA_WAIT (seconds), CASSANDRA_HEAP.
# Background: docs/storage.md ("Tests against the real servers").

CASSANDRA_VERSION=${CASSANDRA_VERSION:-5.0.8}
CASSANDRA_PORT=${CASSANDRA_PORT:-9042}
CASSANDRA_STORAGE_PORT=${CASSANDRA_STORAGE_PORT:-7000}
CASSANDRA_WAIT=${CASSANDRA_WAIT:-240}
CASSANDRA_HEAP=${CASSANDRA_HEAP:-1g}
CASSANDRA_JARS=${CASSANDRA_JARS:-$HOME/.cache/eventrunner/cassandra-$CASSANDRA_VERSION}
_ci_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=.ci/exit-hooks.sh
source "$_ci_dir/exit-hooks.sh"

# cassandra_java prints a Java 17 binary: Cassandra 5.0 does not run on 18+.
cassandra_java() {
  local j
  for j in "${JAVA_HOME:+$JAVA_HOME/bin/java}" java /usr/lib/jvm/java-17-openjdk-*/bin/java /usr/lib/jvm/*17*/bin/java; do
    [ -n "$j" ] && command -v "$j" >/dev/null 2>&1 || continue
    if "$j" -version 2>&1 | grep -q 'version "17\.'; then
      command -v "$j"
      return 0
    fi
  done
  echo "cassandra: no Java 17 found (set JAVA_HOME)" >&2
  return 1
}

# cassandra_fetch copies cassandra-all and its runtime dependencies into
# $CASSANDRA_JARS/lib with a throwaway pom (the parent pom's systemPath
# ERROR lines are harmless noise).
cassandra_fetch() {
  local lib="$CASSANDRA_JARS/lib"
  [ -f "$lib/cassandra-all-$CASSANDRA_VERSION.jar" ] && return 0
  mkdir -p "$CASSANDRA_JARS"
  cat >"$CASSANDRA_JARS/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>eventrunner.ci</groupId>
  <artifactId>cassandra-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>$CASSANDRA_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
  echo "cassandra: fetching cassandra-all $CASSANDRA_VERSION and its dependencies from Maven Central"
  rm -rf "$lib.tmp"
  mvn -B -q -f "$CASSANDRA_JARS/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$lib.tmp" || return 1
  [ -f "$lib.tmp/cassandra-all-$CASSANDRA_VERSION.jar" ] || { echo "cassandra: maven did not provide cassandra-all-$CASSANDRA_VERSION.jar" >&2; return 1; }
  mv "$lib.tmp" "$lib"
}

# cassandra_start fetches, starts and waits for a node, then exports
# EVENTRUNNER_CASSANDRA_HOSTS.
cassandra_start() {
  local java dir i
  java=$(cassandra_java) || return 1
  cassandra_fetch || return 1
  dir=$(mktemp -d "${TMPDIR:-/tmp}/eventrunner-cassandra.XXXXXX")
  CASSANDRA_DIR=$dir
  mkdir -p "$dir/logs" "$dir/tmp"
  sed -e "s|@DIR@|$dir|g" -e "s|@NATIVE_PORT@|$CASSANDRA_PORT|g" -e "s|@STORAGE_PORT@|$CASSANDRA_STORAGE_PORT|g" \
    "$_ci_dir/cassandra.yaml.tmpl" >"$dir/cassandra.yaml"
  local opens=() p
  # Cassandra's conf/jvm17-server.options: a missing one shows as an
  # InaccessibleObjectException at startup.
  for p in java.lang.module jdk.internal.loader jdk.internal.ref jdk.internal.reflect jdk.internal.math \
    jdk.internal.module jdk.internal.util.jar sun.nio.ch java.io java.nio java.lang java.lang.reflect \
    java.util java.util.concurrent java.util.concurrent.atomic; do
    opens+=("--add-opens=java.base/$p=ALL-UNNAMED")
  done
  opens+=("--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED")
  for p in java.base/jdk.internal.misc java.base/jdk.internal.ref java.base/sun.nio.ch \
    java.management.rmi/com.sun.jmx.remote.internal.rmi java.rmi/sun.rmi.registry java.rmi/sun.rmi.server \
    java.sql/java.sql java.base/java.lang.ref jdk.unsupported/sun.misc; do
    opens+=("--add-exports=$p=ALL-UNNAMED")
  done
  echo "cassandra: starting $CASSANDRA_VERSION on 127.0.0.1:$CASSANDRA_PORT, data in $dir"
  "$java" -Xms"$CASSANDRA_HEAP" -Xmx"$CASSANDRA_HEAP" -XX:+UseG1GC -Xss512k \
    -Djdk.attach.allowAttachSelf=true -Dio.netty.tryReflectionSetAccessible=true "${opens[@]}" \
    -Dcassandra-foreground=yes -Dcassandra.config="file://$dir/cassandra.yaml" \
    -Dcassandra.storagedir="$dir" -Dcassandra.logdir="$dir/logs" -Djava.io.tmpdir="$dir/tmp" \
    -Dlogback.configurationFile="$_ci_dir/cassandra-logback.xml" \
    -Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.load_ring_state=false \
    -Dcassandra.jmx.local.port=0 \
    -cp "$CASSANDRA_JARS/lib/*" org.apache.cassandra.service.CassandraDaemon \
    </dev/null >"$dir/logs/stdout.log" 2>&1 &
  CASSANDRA_PID=$!
  ci_on_exit cassandra_stop
  ci_watchdog "$CASSANDRA_PID"
  for ((i = 0; i < CASSANDRA_WAIT; i++)); do
    if grep -q 'Startup complete' "$dir/logs/system.log" 2>/dev/null; then
      export EVENTRUNNER_CASSANDRA_HOSTS="127.0.0.1:$CASSANDRA_PORT"
      echo "cassandra: ready after ${i}s (pid $CASSANDRA_PID): EVENTRUNNER_CASSANDRA_HOSTS=$EVENTRUNNER_CASSANDRA_HOSTS"
      return 0
    fi
    if ! kill -0 "$CASSANDRA_PID" 2>/dev/null; then
      echo "cassandra: exited during startup" >&2
      break
    fi
    sleep 1
  done
  echo "cassandra: not ready after ${i}s; last log lines:" >&2
  tail -n 40 "$dir/logs/system.log" "$dir/logs/stdout.log" >&2 2>/dev/null
  return 1
}

# cassandra_stop stops the node by PID (SIGTERM, then SIGKILL after 30 s)
# and removes its data.
cassandra_stop() {
  [ -n "${CASSANDRA_PID:-}" ] || return 0
  ci_stop_pid "$CASSANDRA_PID" cassandra
  CASSANDRA_PID=
  [ -n "${CASSANDRA_DIR:-}" ] && rm -rf "$CASSANDRA_DIR"
}
