-- wrk: 100 CloudEvents per request in batched mode (application/cloudevents-batch+json),
-- each with 1 KiB of text data and an id of its own.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/cloudevents-batch+json"
local data = string.rep("x", 1024)
local n = 0
local prefix = tostring(math.random(1e9))
request = function()
  n = n + 1
  local events = {}
  for i = 1, 100 do
    events[i] = '{"specversion":"1.0","id":"' .. prefix .. "-" .. n .. "-" .. i ..
                '","source":"/bench","type":"bench.event","datacontenttype":"text/plain",' ..
                '"data":"' .. data .. '"}'
  end
  wrk.body = "[" .. table.concat(events, ",") .. "]"
  return wrk.format()
end
