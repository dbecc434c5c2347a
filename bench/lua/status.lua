-- GET /api/status: the health check load balancers poll. No database, no auth:
-- the cost of the HTTP stack, Strongroom's middleware and JSON encoding.
-- bench/hello.py answers the same path, so this script also loads the hello-world.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local scenario = require("scenario")

wrk.method = "GET"
wrk.path = "/api/status"
wrk.headers["Accept"] = "application/json"

done = scenario.done
