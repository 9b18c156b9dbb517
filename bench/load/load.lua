-- The wrk script of bench/load (embedded in the harness, written to a
-- temporary file for each run):
--
--   wrk ... -s load.lua URL -- read|write PREFIX IDS SIZE
--
-- read:  GET /items/s-K for K uniform in [0, IDS): ids the harness wrote
--        before the measurement.
-- write: POST /items/ {"id": "PREFIX-T-N", "secret": SIZE bytes}, a new id
--        for every request (T the wrk thread, N its counter).
-- Every request carries Authorization: Bearer $LOAD_TOKEN. Every answer
-- outside 2xx is counted. done() prints one RESULT line and the latency
-- histogram (H MICROSECONDS COUNT lines) for the harness to parse; wrk's
-- histogram holds its coordinated-omission correction, which the harness
-- takes back out. The dump costs wrk a scan of its buckets per distinct
-- latency, so the RESULT line gives wrk's CPU time before it.

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  mode, prefix, ids = args[1], args[2], tonumber(args[3])
  math.randomseed(os.time() * 1000 + tid)
  local token = os.getenv("LOAD_TOKEN") or ""
  headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  secret = string.rep("s", tonumber(args[4]))
  n, non2xx = 0, 0
end

function request()
  if mode == "write" then
    n = n + 1
    local id = prefix .. "-" .. tid .. "-" .. n
    return wrk.format("POST", "/items/", headers, '{"id":"' .. id .. '","secret":"' .. secret .. '"}')
  end
  return wrk.format("GET", "/items/s-" .. math.random(0, ids - 1), headers)
end

function response(status)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency)
  local cpu = os.clock() -- wrk's CPU time so far: the load, not the histogram's dump below
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format("RESULT duration=%d requests=%d non2xx=%d connect=%d read=%d write=%d timeout=%d cpu_us=%d\n",
    summary.duration, summary.requests, bad, e.connect, e.read, e.write, e.timeout, cpu * 1e6))
  for i = 1, #latency do
    local v, c = latency(i)
    io.write("H ", v, " ", c, "\n")
  end
end
