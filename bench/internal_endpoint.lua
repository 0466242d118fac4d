-- wrk script for bench/internal_endpoint.sh: GET /api/internal/agent-config/<id> with
-- "Authorization: Bearer <token>", cycling through the seeded containers.
--
--   wrk ... -s internal_endpoint.lua <url> -- <pairs file> <wrk threads>
--
-- <pairs file> holds "<container id> <token>" lines (bench_seed's output). Each wrk thread
-- starts at its own offset and walks the whole list, so consecutive requests hit different
-- containers and no single row stays hot. The nginx run uses this same script: its requests are
-- byte for byte the same as berth's (nginx answers every path with its one static file).
-- done() prints one machine-readable line for the shell script to parse.

local thread_count = 0

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

local ids = {}
local tokens = {}
local n = 0
local next_index = 1

function init(args)
  local path = args[1]
  local threads = tonumber(args[2]) or 1
  local file = assert(io.open(path, "r"))
  for line in file:lines() do
    local id, token = line:match("^(%S+) (%S+)$")
    if id then
      n = n + 1
      ids[n] = id
      tokens[n] = token
    end
  end
  file:close()
  assert(n > 0, "no container id/token pairs in " .. path)
  next_index = math.floor(n * (thread_index or 0) / threads) % n + 1
end

function request()
  local i = next_index
  next_index = next_index % n + 1
  return wrk.format("GET", "/api/internal/agent-config/" .. ids[i],
                    { ["Authorization"] = "Bearer " .. tokens[i] })
end

-- done(): bench/wrk_result.lua, next to the benchmarks.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_result.lua")
