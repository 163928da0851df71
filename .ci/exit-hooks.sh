# shellcheck shell=bash
# Shared by the .ci service scripts: run cleanup hooks (newest first) when the
# sourcing shell exits, without replacing each other's trap, and stop
# services by PID.
if ! declare -F ci_on_exit >/dev/null; then
  CI_EXIT_HOOKS=()
  ci_on_exit() {
    CI_EXIT_HOOKS+=("$1")
    trap ci_run_exit_hooks EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
  }
  ci_run_exit_hooks() {
    local i
    for ((i = ${#CI_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
      "${CI_EXIT_HOOKS[i]}" || true
    done
    CI_EXIT_HOOKS=()
  }
  # ci_watchdog kills pid once the sourcing shell is gone, even if it was
  # killed with SIGKILL and its EXIT trap never ran.
  ci_watchdog() {
    local parent=$$ pid=$1
    (
      trap '' INT TERM
      while kill -0 "$parent" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do sleep 2; done
      kill "$pid" 2>/dev/null
    ) </dev/null >/dev/null 2>&1 &
    disown $! 2>/dev/null || true
  }
  # ci_stop_pid sends SIGTERM, waits up to 30 s, then SIGKILL.
  ci_stop_pid() {
    local pid=$1 name=$2 i
    kill "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 60; i++)); do
      kill -0 "$pid" 2>/dev/null || { echo "$name: stopped (pid $pid)"; return 0; }
      sleep 0.5
    done
    kill -9 "$pid" 2>/dev/null
    echo "$name: killed (pid $pid)"
  }
fi
