-- POST /token grant_type=refresh_token, every request with a different,
-- valid refresh token. Each thread takes its share of the pre-issued tokens
-- (file and thread count given after `--`) as a queue of rotating chains:
-- request() takes the oldest token, response() puts the new refresh_token
-- of each answer at the back. wrk calls response() before it asks for the
-- connection's next request, so with more tokens than connections the queue
-- never runs dry. A token is never sent twice: a reuse would revoke its
-- family (and count as a non-2xx answer).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local queue, head, tail = {}, 1, 0
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC"),
}

local function push(t)
  tail = tail + 1
  queue[tail] = t
end

function init(args)
  local nthreads = tonumber(args[2] or "1")
  for n, t in ipairs(read_lines(args[1])) do
    if (n - 1) % nthreads == (tid or 0) then push(t) end
  end
end

function request()
  local t = "empty-pool"
  if head <= tail then
    t = queue[head]
    queue[head] = nil
    head = head + 1
  end
  return wrk.format("POST", "/token", headers,
    "grant_type=refresh_token&refresh_token=" .. t)
end

function response(status, headers, body)
  if status == 200 then
    local rt = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if rt then push(rt) end
  end
end
