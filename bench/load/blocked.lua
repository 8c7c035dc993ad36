-- wrk script for the blocked step of bench/load/run: absolute-form GETs cycling through the listed domains
-- in the file BLOCKED (one host per line, taken from the 1.4M-domain list), so every lookup is a real hit
-- on a different name rather than one hot entry.
local requests = {}
local i = 0

function init(args)
  for host in io.lines(os.getenv("BLOCKED")) do
    requests[#requests + 1] = wrk.format("GET", "http://" .. host .. "/", { ["Host"] = host, ["User-Agent"] = "wrk-bench" })
  end
end

function request()
  i = i % #requests + 1
  return requests[i]
end
