-- wrk script for the plain-HTTP step of bench/load/run: wrk connects to the proxy, and every request is
-- the absolute-form GET a browser configured with a proxy sends. TARGET is e.g. http://plain.origin.test:18080/1k
local target = os.getenv("TARGET")
local host = target:match("^http://([^/]+)")
wrk.method = "GET"
wrk.path = target
wrk.headers["Host"] = host
wrk.headers["User-Agent"] = "wrk-bench"
