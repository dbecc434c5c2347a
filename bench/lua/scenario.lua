-- What every scenario script shares: reading the values the harness passes in
-- the environment, and the one-line JSON report wrk prints when it is done.
--
-- bench/run.py finds the report by its "BENCH_RESULT " prefix among wrk's own
-- output. Times are in microseconds, as wrk measures them.

local scenario = {}

-- A value the harness must provide (a token, an id). Missing means the script
-- was run by hand without the harness. wrk goes on with its default request
-- after a script error, so exit instead of measuring the wrong thing.
function scenario.env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    io.stderr:write("bench: environment variable " .. name .. " is not set; run scenarios through bench/run.py\n")
    os.exit(2)
  end
  return value
end

-- wrk's done() hook. `summary.errors.status` counts responses with a status of
-- 400 or more; the other error counts are socket failures.
function scenario.done(summary, latency, _requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end

return scenario
