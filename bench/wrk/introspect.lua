-- POST /introspect of the next access token of the pool (file given after
-- `--`), authenticated with client_secret_basic ($BENCH_BASIC).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")

local tokens, i
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC"),
}

function init(args)
  tokens = read_lines(args[1])
  i = (tid or 0) * 97
end

function request()
  i = i + 1
  local t = tokens[(i % #tokens) + 1]
  return wrk.format("POST", "/introspect", headers,
    "token=" .. t .. "&token_type_hint=access_token")
end
