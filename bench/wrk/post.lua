-- POST a JSON body (BENCH_BODY file, default body-1k.json).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")
local f = assert(io.open(os.getenv("BENCH_BODY") or (dir .. "body-1k.json"), "rb"))
local body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
