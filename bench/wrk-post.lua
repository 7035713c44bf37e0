-- wrk script for the bench: POST the body in BENCH_BODY with the headers in BENCH_HEADERS
-- (name: value lines), and print a one-line JSON summary the bench reads.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nBENCH_JSON {"requests":%d,"duration_us":%d,"socket_errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status))
end
