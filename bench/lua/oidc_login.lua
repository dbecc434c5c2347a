-- POST /api/v1/auth/oidc-auth/login: a workload trades its JWT-SVID for an
-- access token. Every request presents the same JWT-SVID, as a SPIRE agent
-- hands its workloads the one it has until half of its life is gone: after the
-- first, its signature is not verified again (strongroom.auth.verify.signature
-- .VerifiedJwts), but its lifetime and the identity's bindings are checked and
-- a new access token is inserted each time. oidc_login_fresh.lua presents a
-- new JWT-SVID each time.
--
-- BENCH_IDENTITY_ID  the identity with OIDC Auth
-- BENCH_JWT_SVID     a JWT-SVID for spiffe://example.org/workload/bench, audience strongroom

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local scenario = require("scenario")

wrk.method = "POST"
wrk.path = "/api/v1/auth/oidc-auth/login"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
-- Ids and JWTs hold no characters that need JSON escaping.
wrk.body = string.format('{"identityId":"%s","jwt":"%s"}',
  scenario.env("BENCH_IDENTITY_ID"), scenario.env("BENCH_JWT_SVID"))

done = scenario.done
