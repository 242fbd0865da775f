-- The sign POST: a new organization with an email of its own at every request.
-- Arguments after "--": the path to post to, a file of "cookie<TAB>CSRF token" lines
-- (one session per thread, fetched from the letter page), and a tag for this run.
-- The baseline's insert is sent the same form.

local path, cookie, token, tag
local sent = 0

function init(args)
  path = args[1]
  local sessions = {}
  for line in io.lines(args[2]) do
    table.insert(sessions, line)
  end
  cookie, token = sessions[(thread_id % #sessions) + 1]:match("^(.-)\t(.*)$")
  tag = args[3] .. "t" .. thread_id
end

function request()
  sent = sent + 1
  local id = tag .. "n" .. sent
  local body = "csrf_token=" .. token
    .. "&kind=organization&organization=Bench+Organization+" .. id
    .. "&country=FR&organization_type=ngo"
    .. "&website=https%3A%2F%2F" .. id .. ".bench.example.org"
    .. "&name=Bench+Signer&title=Director&authorised=y"
    .. "&email=signer%40" .. id .. ".bench.example.org"
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
  }, body)
end
