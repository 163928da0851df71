# shellcheck shell=bash
# Shared by the .ci install scripts: apt_install installs Debian packages,
# as root or through sudo, quietly; need_node installs Node.js and npm when
# the machine has none (new machines of this kind come with them; CI must
# not depend on that).
apt_install() {
  local sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  if [ -z "${CI_APT_UPDATED:-}" ]; then
    $sudo apt-get update -qq
    CI_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

need_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "== node/npm missing: installing nodejs and npm (apt)"
    apt_install nodejs npm
  fi
}
