-- wrk script: POST the JSON body in $BODY_FILE to $REQUEST_PATH; print a JSON summary line at the end.
--
-- Latencies are timed here, raw: wrk 4's own percentiles are corrected for coordinated omission (each
-- answer slower than a connection's mean interval adds the samples a steady client would have seen), so
-- a few slow answers become many. Timing a request from here to its answer needs one connection a
-- thread (wrk -t N -c N): a thread's callbacks do not say which connection they are for.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long seconds; long nanoseconds; } wrk_timespec;
int clock_gettime(int clock, wrk_timespec *now);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("wrk_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.seconds) * 1e6 + tonumber(clock.nanoseconds) / 1e3
end

local file = assert(io.open(os.getenv("BODY_FILE"), "rb"))
local body = file:read("*a")
file:close()

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local prepared, sent_us, answered = nil, 0, 0
latencies_us = {}  -- global: done() reads each thread's copy with thread:get

function init()
  prepared = wrk.format("POST", os.getenv("REQUEST_PATH"), { ["Content-Type"] = "application/json" }, body)
end

function request()
  sent_us = now_us()
  return prepared
end

function response()
  answered = answered + 1
  latencies_us[answered] = now_us() - sent_us
end

function done(summary, latency)
  local all = {}
  for _, thread in ipairs(threads) do
    for _, value in ipairs(thread:get("latencies_us")) do
      all[#all + 1] = value
    end
  end
  table.sort(all)
  local function percentile(share)  -- nearest rank
    return all[math.max(1, math.ceil(#all * share))] or 0
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "failed": %d, "p50_us": %d, "p99_us": %d, "corrected_p99_us": %d}\n',
    summary.requests, summary.duration / 1e6,
    errors.status + errors.connect + errors.read + errors.write + errors.timeout,
    percentile(0.5), percentile(0.99), latency:percentile(99)))
end
