-- wrk script of the submit benchmarks: POST /v1/operations with a fresh clientId on every request,
-- cycling through three strategies and instruments with sizes that pass the risk checks.
--
-- Arguments (after `--`): <clientId prefix> <bearer token> <maxDurationSec, 0 for none> <warm-up seconds>
--
-- It measures latency itself rather than with wrk's own statistics, which time the first request
-- of each connection from the moment the connection is writable: a saturated Node.js server
-- accepts one connection per event-loop turn, so the ramp-up of 50 connections adds requests of
-- up to a second to wrk's p99 that no steady client ever sees. Here the send time of each request
-- is kept under its clientId, found again in the response body, and only responses completed
-- after the warm-up count. Prints one JSON line at the end.

local ffi = require("ffi")
ffi.cdef([[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000000 + tonumber(timespec.tv_nsec) / 1000
end

local STRATEGIES = { "trend-follow", "mean-revert", "breakout" }
local INSTRUMENTS = { "BTC-USD", "ETH-USD", "SOL-USD" }
local SIZES = { "0.01", "0.1", "1" }

local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  prefix = args[1] .. "-" .. thread_id
  max_duration = tonumber(args[3]) or 0
  measure_from = now_us() + (tonumber(args[4]) or 0) * 1000000
  sent = 0
  sent_at = {}
  -- Results, read by done() through thread:get().
  latencies = {}
  completed = 0
  rejected = 0
  first_at = 0
  last_at = 0
  wrk.method = "POST"
  wrk.headers["content-type"] = "application/json"
  wrk.headers["authorization"] = "Bearer " .. args[2]
end

function request()
  sent = sent + 1
  local i = sent % 3 + 1
  local exit = ""
  if max_duration > 0 then
    exit = string.format(',"maxDurationSec":%d', max_duration)
  end
  local body = string.format(
    '{"clientId":"%s-%d","strategy":"%s","instrument":"%s","side":"buy","size":"%s"%s}',
    prefix, sent, STRATEGIES[i], INSTRUMENTS[i], SIZES[i], exit
  )
  sent_at[sent] = now_us()
  return wrk.format(nil, nil, nil, body)
end

function response(status, _headers, body)
  local now = now_us()
  local seq = tonumber(string.match(body, '"clientId":"[^"]-%-(%d+)"'))
  local start = seq and sent_at[seq]
  if seq then
    sent_at[seq] = nil
  end
  if now < measure_from then
    return
  end
  if first_at == 0 then
    first_at = now
  end
  last_at = now
  completed = completed + 1
  if status ~= 201 or not start then
    rejected = rejected + 1
  else
    latencies[#latencies + 1] = now - start
  end
end

local function percentile(sorted, p)
  if #sorted == 0 then
    return 0
  end
  local rank = math.max(1, math.ceil(p / 100 * #sorted))
  return sorted[rank]
end

function done(summary, _latency, _requests)
  local all = {}
  local completed_total, rejected_total = 0, 0
  local first, last = math.huge, 0
  for _, thread in ipairs(threads) do
    for _, value in ipairs(thread:get("latencies")) do
      all[#all + 1] = value
    end
    completed_total = completed_total + thread:get("completed")
    rejected_total = rejected_total + thread:get("rejected")
    local thread_first, thread_last = thread:get("first_at"), thread:get("last_at")
    if thread_first > 0 and thread_first < first then
      first = thread_first
    end
    if thread_last > last then
      last = thread_last
    end
  end
  table.sort(all)
  local e = summary.errors
  io.write(string.format(
    '{"completed":%d,"rejected":%d,"windowUs":%.0f,"socketErrors":%d,' ..
      '"latencyUs":{"p50":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f,"max":%.0f}}\n',
    completed_total, rejected_total, last > first and last - first or 0,
    e.connect + e.read + e.write + e.timeout,
    percentile(all, 50), percentile(all, 90), percentile(all, 99), percentile(all, 99.9), percentile(all, 100)
  ))
end
