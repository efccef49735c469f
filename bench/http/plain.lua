-- wrk: a plain 1 KiB body per request, one message each.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.body = string.rep("x", 1024)
