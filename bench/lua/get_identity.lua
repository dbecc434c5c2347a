-- GET /api/v1/identities/{id} with a bearer token: the path every
-- authenticated request takes (decode the token, load its row, check the auth
-- method, the membership and the use count, then one read).
--
-- BENCH_IDENTITY_ID   the identity to read
-- BENCH_ACCESS_TOKEN  the token to present (the instance admin's: it has no use limit)

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local scenario = require("scenario")

wrk.method = "GET"
wrk.path = "/api/v1/identities/" .. scenario.env("BENCH_IDENTITY_ID")
wrk.headers["Authorization"] = "Bearer " .. scenario.env("BENCH_ACCESS_TOKEN")
wrk.headers["Accept"] = "application/json"

done = scenario.done
