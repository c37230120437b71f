-- POST /runtime/retrieve with a short conversation, rotating over a few user questions.
-- args: token, file of agent ids, path template with one %s for the agent id.
dofile("common.lua")

local QUESTIONS = {
  "How long does a refund take to reach my card?",
  "Can I change the delivery address of my order?",
  "My invoice shows the wrong company name, can you fix it?",
  "Do you ship to Canada and how much does it cost?",
  "I want to cancel my subscription before the next billing date.",
  "The package arrived damaged, what should I do?",
  "Is there a warranty on the replacement parts?",
  "How do I reset the password of my account?",
}

local requests, i = {}, 0

function init(args)
  local token, ids, template = args[1], read_lines(args[2]), args[3]
  for _, id in ipairs(ids) do
    for _, q in ipairs(QUESTIONS) do
      local body = string.format(
        '{"messages":[{"role":"assistant","content":"Hello, how can I help you today?"},' ..
        '{"role":"user","content":"%s"}],"top_k":5}', q)
      table.insert(requests, wrk.format("POST", string.format(template, id),
        {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body))
    end
  end
end

function request()
  i = i % #requests + 1
  return requests[i]
end
