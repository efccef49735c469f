-- wrk: one CloudEvent per request in structured mode (application/cloudevents+json), with
-- 1 KiB of text data.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/cloudevents+json"
local data = string.rep("x", 1024)
local n = 0
request = function()
  n = n + 1
  local id = tostring(n) .. "-" .. tostring(math.random(1e9))
  wrk.body = '{"specversion":"1.0","id":"' .. id .. '","source":"/bench","type":"bench.event",' ..
             '"datacontenttype":"text/plain","data":"' .. data .. '"}'
  return wrk.format()
end
