-- wrk script for the plain-HTTP step of bench/load/run: wrk connects to the proxy, and every request is
-- the absolute-form GET a browser configured with a proxy sends. TARGET is e.g. http://plain.origin.test:18080/1k
local target = os.getenv("TARGET")
local host = target:match("^http://([^/]+)")
wrk.method = "GET"
wrk.path = target
wrk.headers["Host"] = host
wrk.headers["User-Agent"] = "wrk-bench"

-- At the end: finer percentiles than --latency gives, into the raw output (bench/load/profile.py prints them).
function done(summary, latency, requests)
  io.write("percentiles (ms):")
  for _, p in ipairs({50, 75, 90, 95, 98, 99, 99.5, 99.9, 99.99}) do
    io.write(string.format(" p%g=%.2f", p, latency:percentile(p) / 1000))
  end
  io.write(string.format(" max=%.2f mean=%.2f sd=%.2f\n", latency.max / 1000, latency.mean / 1000, latency.stdev / 1000))
end
