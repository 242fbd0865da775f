-- The confirm POST, each request pressing the button of another emailed link.
-- Arguments after "--": a file of "cookie<TAB>CSRF token" lines (one session per
-- thread), a file of /confirm/<token> paths made beforehand, and the number of threads
-- (thread i takes paths i, i + threads, ...). A thread that uses up its paths stops
-- and says so ("exhausted"): its figures are then a lower bound.

local cookie, token
local paths = {}
local sent = 0

function init(args)
  local sessions = {}
  for line in io.lines(args[1]) do
    table.insert(sessions, line)
  end
  cookie, token = sessions[(thread_id % #sessions) + 1]:match("^(.-)\t(.*)$")
  local threads = tonumber(args[3])
  local index = 0
  for line in io.lines(args[2]) do
    if index % threads == thread_id then
      table.insert(paths, line)
    end
    index = index + 1
  end
end

function request()
  sent = sent + 1
  if sent > #paths then
    exhausted = 1
    wrk.thread:stop()
    sent = #paths
  end
  return wrk.format("POST", paths[sent], {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
  }, "csrf_token=" .. token)
end
