-- wrk script for bench/proxy/run.sh: POST /v1/chat/completions with a streaming chat body, the
-- same bytes for every path (direct, berth, nginx, configurable-http-proxy).
--
--   wrk ... -s chat_stream.lua <url> -- <bearer token> [<x-bench-chunks> [<x-bench-delay-ms>]]
--
-- The token only matters to berth (a user token); the upstream accepts any. The event count and
-- delay go both in headers and in the body's "bench" object: berth forwards the body but not the
-- client's headers. Empty chunk/delay arguments leave the upstream's defaults. done() prints one
-- machine-readable line for run.sh.

local request_bytes

function init(args)
  local token = args[1] or "bench"
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }
  local bench = {}
  if args[2] and args[2] ~= "" then
    headers["x-bench-chunks"] = args[2]
    bench[#bench + 1] = '"chunks":' .. tonumber(args[2])
  end
  if args[3] and args[3] ~= "" then
    headers["x-bench-delay-ms"] = args[3]
    bench[#bench + 1] = '"delayMs":' .. tonumber(args[3])
  end
  local body = '{"model":"openclaw","stream":true,"bench":{' .. table.concat(bench, ",") ..
               '},"messages":[{"role":"user","content":"Say tok, as often as you like."}]}'
  request_bytes = wrk.format("POST", "/v1/chat/completions", headers, body)
end

function request()
  return request_bytes
end

-- done(): bench/wrk_result.lua, next to the benchmarks.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "../wrk_result.lua")
