-- GET /userinfo, each request with the next access token of the pool
-- (file given after `--`), so requests do not all hit one row.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local tokens, i

function init(args)
  tokens = read_lines(args[1])
  i = (tid or 0) * 97
end

function request()
  i = i + 1
  local t = tokens[(i % #tokens) + 1]
  return wrk.format("GET", "/userinfo", { ["Authorization"] = "Bearer " .. t })
end
