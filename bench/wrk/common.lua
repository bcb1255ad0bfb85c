-- Shared by every wrk script of bench/run: writes the run's summary as JSON
-- to the file named by $WRK_OUT (wrk's own text report still goes to
-- stdout), and gives each thread an id so scripts can split token pools.

local threads_seen = 0

function setup(thread)
  thread:set("tid", threads_seen)
  threads_seen = threads_seen + 1
end

-- Lines of a file, as a table; fails loudly when the file is missing.
function read_lines(path)
  local f = assert(io.open(path, "r"), "cannot open " .. tostring(path))
  local lines = {}
  for line in f:lines() do
    if #line > 0 then lines[#lines + 1] = line end
  end
  f:close()
  return lines
end

function done(summary, latency, requests)
  local e = summary.errors
  local out = string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "threads": %d, "connections": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency": {"mean_us": %.1f, "p50_us": %d, "p90_us": %d, "p99_us": %d, "p999_us": %d, "max_us": %d}}\n',
    summary.requests, summary.duration, summary.bytes, threads_seen,
    tonumber(os.getenv("WRK_CONNECTIONS") or "0"),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max)
  local path = os.getenv("WRK_OUT")
  if path then
    local f = assert(io.open(path, "w"))
    f:write(out)
    f:close()
  else
    io.write(out)
  end
end
