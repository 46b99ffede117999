-- GET one URL as 300 different clients: each request carries the next of 300 addresses in
-- X-Forwarded-For (the gateway trusts 127.0.0.1 as a proxy), so that per-IP limits use 300 keys.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")
wrk.method = "GET"
local n = 0
request = function()
  n = n + 1
  local i = n % 300
  wrk.headers["X-Forwarded-For"] = string.format("10.%d.%d.7", math.floor(i / 256), i % 256)
  return wrk.format("GET", wrk.path)
end
