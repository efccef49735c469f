-- wrk: one CloudEvent per request in binary mode (ce-* headers, the body as data), 1 KiB.
wrk.method = "POST"
wrk.headers["ce-specversion"] = "1.0"
wrk.headers["ce-source"] = "/bench"
wrk.headers["ce-type"] = "bench.event"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.body = string.rep("x", 1024)
local n = 0
request = function()
  n = n + 1
  wrk.headers["ce-id"] = tostring(n) .. "-" .. tostring(math.random(1e9))
  return wrk.format()
end
