-- POST /api/v1/auth/oidc-auth/login: a workload trades its JWT-SVID for an
-- access token. Every request presents the same JWT-SVID (SPIRE's are reusable
-- until exp), so each one costs an ES256 verification, the identity's bindings
-- and the insert of a new access token.
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
