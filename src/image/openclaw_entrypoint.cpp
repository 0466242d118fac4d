#include "image/openclaw_entrypoint.hpp"

namespace berth::image {

std::string_view EntrypointScript() {
  return R"SH(#!/bin/sh
# berth agent entrypoint (ARCHITECTURE.md, "Agent image"): fetch this container's openclaw.json
# from berth, then run the OpenClaw gateway in this process's place.
for name in MOSAIC_API_URL AGENT_TOKEN AGENT_ID; do
  eval "value=\${${name}:-}"
  if [ -z "${value}" ]; then
    echo "berth-entrypoint: ${name} is required but not set" >&2
    exit 78
  fi
done
unset value
export HOME="${HOME:-/home/node}"
# Stopped while still fetching: exit 0 like a stopped gateway (and like berth-test-agent).
trap 'exit 0' TERM INT
node /usr/local/lib/berth/fetch-config.mjs &
wait $! || exit $?
trap - TERM INT
export OPENCLAW_GATEWAY_TOKEN="${OPENCLAW_GATEWAY_TOKEN:-${AGENT_TOKEN}}"
echo "berth-entrypoint: starting the OpenClaw gateway" >&2
exec node /opt/openclaw/node_modules/openclaw/openclaw.mjs gateway run "$@"
)SH";
}

std::string_view FetchConfigScript() {
  return R"JS(// Fetches this agent's openclaw.json from berth (ARCHITECTURE.md, "Container contract"), with
// the same rules as berth-test-agent: retry connection errors, timeouts and 5xx (0.5 s doubling
// to 5 s, for up to 120 s), give up at once on any other status. Exit 78 when giving up.
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";

const EX_CONFIG = 78;
const BUDGET_MS = 120000;
const ATTEMPT_MS = 10000;
const log = (message) => process.stderr.write(`berth-entrypoint: ${message}\n`);

const api = (process.env.MOSAIC_API_URL || "").replace(/\/+$/, "");
const token = process.env.AGENT_TOKEN || "";
const id = process.env.AGENT_ID || "";
const home = process.env.HOME || "/home/node";
const url = `${api}/internal/agent-config/${encodeURIComponent(id)}`;

function errorText(body) {
  try {
    const e = JSON.parse(body).error;
    const text = typeof e === "string" ? e : e && typeof e.message === "string" ? e.message : "";
    return text ? ` (${text.slice(0, 200)})` : "";
  } catch {
    return "";
  }
}

// A backup the gateway left gets the same content: OpenClaw restores a config it finds suspicious
// from it, and an older one (a deleted provider's key) must never come back. None is made where
// there was none: the gateway's first write would rotate it into openclaw.json.bak.1.
function write(config) {
  const dir = `${home}/.openclaw`;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const names = existsSync(`${dir}/openclaw.json.bak`) ? ["openclaw.json.bak"] : [];
  for (const name of [...names, "openclaw.json"]) {
    const temp = `${dir}/${name}.tmp-${process.pid}`;
    writeFileSync(temp, JSON.stringify(config, null, 2), { mode: 0o600 });
    chmodSync(temp, 0o600);
    renameSync(temp, `${dir}/${name}`);
  }
  return `${dir}/openclaw.json`;
}

log(`fetching config from ${url}`);
const start = Date.now();
let nextWait = 500;
for (let attempt = 1; ; attempt++) {
  let problem;
  try {
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${token}`, accept: "application/json" },
      signal: AbortSignal.timeout(ATTEMPT_MS),
    });
    const body = await response.text();
    if (response.status >= 200 && response.status < 300) {
      let config = null;
      try {
        config = JSON.parse(body);
      } catch {}
      if (config === null || typeof config !== "object" || Array.isArray(config)) {
        log(`config fetch answered HTTP ${response.status} with a body that is not a JSON object`);
        process.exit(EX_CONFIG);
      }
      log(`config fetched (attempt ${attempt}), written to ${write(config)}`);
      process.exit(0);
    }
    if (response.status < 500 || response.status > 599) {
      log(`config fetch refused: HTTP ${response.status}${errorText(body)}; giving up`);
      process.exit(EX_CONFIG);
    }
    problem = `HTTP ${response.status}`;
  } catch (e) {
    problem = (e && e.cause && (e.cause.code || e.cause.message)) || (e && e.name) || String(e);
  }
  const elapsed = Date.now() - start;
  if (elapsed >= BUDGET_MS) {
    log(`config fetch failed after ${attempt} attempts; last error: ${problem}; giving up`);
    process.exit(EX_CONFIG);
  }
  const wait = Math.min(nextWait, 5000, BUDGET_MS - elapsed);
  nextWait = Math.min(nextWait * 2, 5000);
  log(`config fetch attempt ${attempt} failed: ${problem}; retrying in ${wait} ms`);
  await new Promise((resolve) => setTimeout(resolve, wait));
}
)JS";
}

std::string_view OpenClawWrapperScript() {
  return R"SH(#!/bin/sh
exec node /opt/openclaw/node_modules/openclaw/openclaw.mjs "$@"
)SH";
}

}  // namespace berth::image
