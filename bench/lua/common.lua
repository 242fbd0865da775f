-- Put before each scenario's script by bench/wrk.py: numbers the threads, counts the
-- answers by status, and prints the run as one JSON line (BENCH_JSON {...}) when done.

local threads = {}
local started = 0

function setup(thread)
  thread:set("thread_id", started)
  table.insert(threads, thread)
  started = started + 1
end

-- In each thread: answers by status code, and whether it ran out of prepared requests.
thread_id = 0
statuses = {}
exhausted = 0

function response(status, headers, body)
  local code = tostring(status)
  statuses[code] = (statuses[code] or 0) + 1
end

function done(summary, latency, requests)
  local merged, ran_out = {}, 0
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("statuses") or {}) do
      merged[code] = (merged[code] or 0) + count
    end
    ran_out = ran_out + (thread:get("exhausted") or 0)
  end
  local parts = {}
  for code, count in pairs(merged) do
    table.insert(parts, string.format('"%s":%d', code, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%d,"max":%d},'
      .. '"statuses":{%s},"exhausted":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    math.floor(latency:percentile(50)), math.floor(latency:percentile(90)),
    math.floor(latency:percentile(99)), math.floor(latency.mean), math.floor(latency.max),
    table.concat(parts, ","), ran_out))
end
