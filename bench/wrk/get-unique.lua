-- GET a different URL every request (<path>/<run>-<n>): every request is a cache miss.
-- <run> comes from /dev/urandom so that runs started in the same second do not share URLs.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")
wrk.method = "GET"
local f = io.open("/dev/urandom", "rb")
local b = f:read(6)
f:close()
local run = string.format("%02x%02x%02x%02x%02x%02x", b:byte(1, 6))
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", wrk.path .. "/" .. run .. "-" .. n)
end
