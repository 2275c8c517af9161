-- wrk script: POST the JSON body in $BODY_FILE to $REQUEST_PATH; print a JSON summary line at the end.
local file = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.path = os.getenv("REQUEST_PATH")
wrk.body = file:read("*a")
wrk.headers["Content-Type"] = "application/json"
file:close()

done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "failed": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
