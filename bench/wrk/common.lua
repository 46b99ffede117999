-- Shared wrk settings: fixed request headers, optional extra headers from BENCH_HEADERS
-- ("Name: value" lines), and a machine-readable summary line.
wrk.headers["Host"] = "api.local"
wrk.headers["User-Agent"] = "portcullis-bench/1.0 (wrk)"
wrk.headers["Accept"] = "application/json"
local extra = os.getenv("BENCH_HEADERS")
if extra then
  for line in extra:gmatch("[^\n]+") do
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then wrk.headers[k] = v end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"rps":%.2f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
