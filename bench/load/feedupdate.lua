-- wrk script for bench/load/feedupdate: alternates an allowed GET of a 1 KB file from the origin (TARGET, 200)
-- with a GET of a listed domain (from the file BLOCKED, 403), so each phase measures both the forwarding path and
-- lookups in the 1.4M-entry list that the feed replaces. Counts statuses per thread; done() prints them with
-- finer percentiles than --latency, for feedupdate to read.
local requests = {}
local i = 0
local threads = {}
counts = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local target = os.getenv("TARGET")
  local host = target:match("^http://([^/]+)")
  local plain = wrk.format("GET", target, { ["Host"] = host, ["User-Agent"] = "wrk-feedupdate" })
  for blocked in io.lines(os.getenv("BLOCKED")) do
    requests[#requests + 1] = plain
    requests[#requests + 1] = wrk.format("GET", "http://" .. blocked .. "/", { ["Host"] = blocked, ["User-Agent"] = "wrk-feedupdate" })
  end
end

function request()
  i = i % #requests + 1
  return requests[i]
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local all = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("counts")) do
      all[status] = (all[status] or 0) + n
    end
  end
  io.write("statuses:")
  for status, n in pairs(all) do
    io.write(string.format(" %d=%d", status, n))
  end
  io.write("\n")
  io.write("percentiles (ms):")
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format(" p%g=%.2f", p, latency:percentile(p) / 1000))
  end
  io.write(string.format(" max=%.2f\n", latency.max / 1000))
end
