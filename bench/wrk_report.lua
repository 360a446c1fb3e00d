-- wrk script for bench/api.py: adds the tenant and bearer headers (from the environment, so the
-- token never shows in a process list) and prints one JSON line, prefixed WRK_JSON, from done().
-- Latencies are in milliseconds; wrk measures them in microseconds.

local tenant = os.getenv("BENCH_TENANT")
local token = os.getenv("BENCH_TOKEN")
if tenant and tenant ~= "" then
  wrk.headers["X-Tenant-Subdomain"] = tenant
end
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_s":%.3f,"bytes":%d,"rps":%.2f,'
      .. '"latency_ms":{"p50":%.3f,"p90":%.3f,"p95":%.3f,"p99":%.3f,"max":%.3f,"mean":%.3f,"stdev":%.3f},'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, seconds, summary.bytes, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000, latency.stdev / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end
