-- wrk script for bench/replicas/fleet.sh: streamed chats of many users, spread over replicas.
--
--   FLEET_REPLICAS=host:port,host:port,... wrk -tT -cC ... -s fleet_chat.lua <url> -- \
--     <users file> <chunks> <delay ms>
--
-- wrk thread k (from 1) sends all its connections' requests to replica ((k - 1) mod n) + 1 of
-- FLEET_REPLICAS (setup() sees no script arguments, hence the environment); with T a multiple
-- of n every replica gets the same number of connections. <users file> holds "<user id>
-- <token>" lines; each thread walks all users from its own offset, one user per request, so
-- every replica serves chats of every user, whichever replica started the user's agent. The
-- body is bench/proxy/chat_stream.lua's. done() prints the BENCH_RESULT line and one
-- "BENCH_REPLICAS <requests sent to replica 1> <… 2> …" line.

local replicas = {}
for addr in (os.getenv("FLEET_REPLICAS") or ""):gmatch("[^,]+") do
  local host, port = addr:match("^(.*):(%d+)$")
  replicas[#replicas + 1] = { host = host, port = port }
end
assert(#replicas > 0, "FLEET_REPLICAS names no host:port")

local threads = {}

function setup(thread)
  local k = #threads + 1
  local r = (k - 1) % #replicas + 1
  thread.addr = wrk.lookup(replicas[r].host, replicas[r].port)[1]
  thread:set("thread_index", k)
  thread:set("replica", r)
  thread:set("sent", 0)
  threads[k] = thread
end

local requests = {}
local n = 0
local next_index = 1

function init(args)
  local file = assert(io.open(args[1], "r"))
  local chunks, delay = tonumber(args[2]) or 20, tonumber(args[3]) or 0
  local body = '{"model":"openclaw","stream":true,"bench":{"chunks":' .. chunks ..
               ',"delayMs":' .. delay .. '},"messages":[{"role":"user","content":' ..
               '"Say tok, as often as you like."}]}'
  for line in file:lines() do
    local token = line:match("^%S+ (%S+)$")
    if token then
      n = n + 1
      requests[n] = wrk.format("POST", "/v1/chat/completions", {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. token,
      }, body)
    end
  end
  file:close()
  assert(n > 0, "no users in " .. args[1])
  next_index = ((thread_index or 1) * 7919) % n + 1
end

function request()
  local i = next_index
  next_index = next_index % n + 1
  sent = sent + 1
  return requests[i]
end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "../wrk_result.lua")
local result_done = done

function done(summary, latency, requests_)
  result_done(summary, latency, requests_)
  local per_replica = {}
  for r = 1, #replicas do per_replica[r] = 0 end
  for _, t in ipairs(threads) do
    local r = t:get("replica")
    per_replica[r] = per_replica[r] + t:get("sent")
  end
  io.write("BENCH_REPLICAS " .. table.concat(per_replica, " ") .. "\n")
end
