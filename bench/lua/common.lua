-- Shared by every workload script (loaded with dofile; wrk runs with this folder as its cwd).
-- Prints one machine-readable line at the end; bench/run.py parses it. Latencies are in
-- microseconds. `status` is wrk's count of responses with a status of 400 or more; run.py checks
-- each workload's exact 2xx status once before loading it.

-- Every connection waits 50 ms before its first request, so the server accepts all of them while
-- it is still idle and the latencies are those of established connections under load. Without
-- it, a saturated uvloop server accepts one waiting connection per loop iteration and the last
-- of 64 connections waits up to a second for its first answer (bench/README.md, "Tails").
local first_requests = tonumber(os.getenv("BENCH_CONNECTIONS") or "0")
function delay()
  if first_requests > 0 then
    first_requests = first_requests - 1
    return 50
  end
  return 0
end

function read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if line ~= "" then table.insert(lines, line) end
  end
  return lines
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
