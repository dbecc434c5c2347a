-- GET /api/v3/secrets/raw/{name}: read one secret by name, decrypted.
--
-- BENCH_PROJECT_ID    the project (Infisical's workspaceId)
-- BENCH_SECRET_NAME   a secret that exists in dev at /
-- BENCH_ACCESS_TOKEN  the token to present

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local scenario = require("scenario")

wrk.method = "GET"
wrk.path = "/api/v3/secrets/raw/" .. scenario.env("BENCH_SECRET_NAME")
  .. "?workspaceId=" .. scenario.env("BENCH_PROJECT_ID") .. "&environment=dev&secretPath=%2F"
wrk.headers["Authorization"] = "Bearer " .. scenario.env("BENCH_ACCESS_TOKEN")
wrk.headers["Accept"] = "application/json"

done = scenario.done
