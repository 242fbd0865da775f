-- A GET of the URL wrk was given, with the extra headers passed after "--"
-- ("If-None-Match: ..." for the live poll), the same request every time.

local prepared

function init(args)
  local headers = {}
  for _, header in ipairs(args) do
    local name, value = header:match("^([^:]+):%s*(.*)$")
    if name then
      headers[name] = value
    end
  end
  prepared = wrk.format("GET", nil, headers)
end

function request()
  return prepared
end
