-- POST /api/v1/auth/oidc-auth/login with a JWT-SVID Strongroom has not
-- verified lately: the first login of a workload, or one after its SPIRE agent
-- rotated its JWT-SVID. Each request takes the next line of a file of
-- distinct JWT-SVIDs, so each costs the full ES256 verification (oidc_login.lua
-- presents one JWT-SVID again and again, as a SPIRE agent hands it out).
--
-- BENCH_IDENTITY_ID    the identity with OIDC Auth
-- BENCH_JWT_SVID_FILE  JWT-SVIDs for spiffe://example.org/workload/bench, one per line, more
--                      than Strongroom keeps verified (4,096)
--
-- Each wrk thread starts 4,999 lines after the previous one, so between two uses of one line (by
-- any thread) more than 4,096 other JWT-SVIDs are presented; hence at most four threads. Each wrk
-- run (the warm-up, then every measured run) starts past the lines the run before it used: the
-- place is kept in BENCH_JWT_SVID_FILE.next.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local scenario = require("scenario")

local STRIDE = 4999
local MAX_THREADS = 4

local function next_path()
  return scenario.env("BENCH_JWT_SVID_FILE") .. ".next"
end

local function read_start()
  local file = io.open(next_path(), "r")
  if file == nil then return 0 end
  local start = tonumber(file:read("*l")) or 0
  file:close()
  return start
end

-- In wrk's main Lua state: every thread, to ask each in done() how far it went.
local threads = {}

function setup(thread)
  thread:set("thread_number", #threads)
  threads[#threads + 1] = thread
  if #threads > MAX_THREADS then
    io.stderr:write("bench: oidc_login_fresh.lua takes at most " .. MAX_THREADS .. " wrk threads\n")
    os.exit(2)
  end
end

-- In each thread's Lua state.
local svids = {}
local identity_id
local first_line
used = 0

function init(_args)
  identity_id = scenario.env("BENCH_IDENTITY_ID")
  for line in io.lines(scenario.env("BENCH_JWT_SVID_FILE")) do
    if line ~= "" then svids[#svids + 1] = line end
  end
  first_line = read_start() + (thread_number or 0) * STRIDE
end

local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }

function request()
  local svid = svids[(first_line + used) % #svids + 1]
  used = used + 1
  -- Ids and JWTs hold no characters that need JSON escaping.
  local body = string.format('{"identityId":"%s","jwt":"%s"}', identity_id, svid)
  return wrk.format("POST", "/api/v1/auth/oidc-auth/login", headers, body)
end

function done(summary, latency, requests)
  local furthest = 0
  for number, thread in ipairs(threads) do
    local reach = (number - 1) * STRIDE + (tonumber(thread:get("used")) or 0)
    if reach > furthest then furthest = reach end
  end
  local file = assert(io.open(next_path(), "w"))
  file:write(tostring(read_start() + furthest), "\n")
  file:close()
  scenario.done(summary, latency, requests)
end
