-- wrk script for bench/llm/run.sh: the same streamed chat completion for every path (direct to
-- the fake provider, through berth's LLM gateway, through nginx), as an agent would send it.
--
--   wrk ... -s chat.lua <url> -- <bearer key> <chunks>
--
-- The key only matters to berth (the agent's key); the provider accepts any.

local request_bytes

function init(args)
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. (args[1] or "bench"),
  }
  local body = '{"model":"openclaw","stream":true,"bench":{"chunks":' .. tonumber(args[2] or 20) ..
               '},"messages":[{"role":"user","content":"Say tok, as often as you like."}]}'
  request_bytes = wrk.format("POST", nil, headers, body)
end

function request()
  return request_bytes
end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "../wrk_result.lua")
