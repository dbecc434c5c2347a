-- POST /api/v1/auth/oidc-auth/login with a JWT-SVID Strongroom has not
-- verified lately: the first login of a workload, or one after its SPIRE agent
-- rotated its JWT-SVID. Each request takes the next line of a file of
-- distinct JWT-SVIDs, so each costs the full ES256 verification (oidc_login.lua
-- presents one JWT-SVID again and again, as a SPIRE agent hands it out).
--
-- BENCH_IDENTITY_ID    the identity with OIDC Auth
-- BENCH_JWT_SVID_FILE  JWT-SVIDs for spiffe://example.org/workload/bench, one per line, more
--                      than Strongroom keeps verified: cycled through, none is kept when it comes round
--
-- Each wrk thread starts 4999 lines after the previous one, so between two uses of one line
-- (by any thread) more than 4096 other JWT-SVIDs are presented, up to four threads.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local scenario = require("scenario")

local threads = 0

function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end

local svids = {}
local identity_id
local next_line

function init(_args)
  identity_id = scenario.env("BENCH_IDENTITY_ID")
  for line in io.lines(scenario.env("BENCH_JWT_SVID_FILE")) do
    if line ~= "" then svids[#svids + 1] = line end
  end
  next_line = ((thread_number or 0) * 4999) % #svids + 1
end

local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }

function request()
  local svid = svids[next_line]
  next_line = next_line % #svids + 1
  -- Ids and JWTs hold no characters that need JSON escaping.
  local body = string.format('{"identityId":"%s","jwt":"%s"}', identity_id, svid)
  return wrk.format("POST", "/api/v1/auth/oidc-auth/login", headers, body)
end

done = scenario.done
