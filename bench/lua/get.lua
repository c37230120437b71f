-- GET rotating over a list of ids.
-- args: token, file of ids (one a line), path template with one %s for the id.
dofile("common.lua")

local requests, i = {}, 0

function init(args)
  local token, ids, template = args[1], read_lines(args[2]), args[3]
  for _, id in ipairs(ids) do
    table.insert(requests, wrk.format("GET", string.format(template, id),
      {["Authorization"] = "Bearer " .. token}))
  end
end

function request()
  i = i % #requests + 1
  return requests[i]
end
