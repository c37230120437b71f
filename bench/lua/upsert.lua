-- Training upsert by node_id: request n goes to agent n mod A and node_id (n div A) mod N, so
-- consecutive requests touch different agents and every (agent, node_id) pair comes back after
-- A*N requests. The body is a typical training (~650 bytes).
-- args: token, file of agent ids, path template with one %s for the agent id, N node_ids.
-- The reference POST uses the same script (its template has no %s), so both servers parse the
-- same bytes.
dofile("common.lua")

local INSTRUCTIONS = "When the caller asks about a refund, first confirm the order number and the " ..
  "email address on the account. Refunds are possible within 30 days of delivery for unused " ..
  "items in their original packaging. Explain that the refund goes back to the original payment " ..
  "method within 5 to 10 business days after the return is received. If the order is older than " ..
  "30 days, offer store credit instead and explain why. Never promise a refund for digital " ..
  "goods; transfer those callers to a human agent. Keep answers short and confirm what the " ..
  "caller will receive before ending the topic."

local agents, template, nodes, headers, n = {}, "", 1000, {}, 0

function init(args)
  agents, template, nodes = read_lines(args[2]), args[3], tonumber(args[4])
  headers = {["Authorization"] = "Bearer " .. args[1], ["Content-Type"] = "application/json"}
end

function request()
  local agent = agents[n % #agents + 1]
  local node = math.floor(n / #agents) % nodes
  n = n + 1
  local body = string.format(
    '{"node_id":"node-%04d","subject":"Refund policy, section %04d","instructions":"%s"}',
    node, node, INSTRUCTIONS)
  local h = {}
  for k, v in pairs(headers) do h[k] = v end
  return wrk.format("POST", string.format(template, agent), h, body)
end
