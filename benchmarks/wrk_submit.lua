-- wrk script of benchmarks/load_wrk.py: kiosk responses to POST /api/v1/responses.
--
-- Arguments (after --): a file of "desk token" lines, and a folder for the ids the
-- server acknowledged. Every request carries a fresh UUID (version 4), except that
-- one in ten sends the previous request again with the same id and body, as a kiosk
-- whose reply was lost does; the server must answer it 200 "repeated". Each thread
-- writes the ids acknowledged (201 created or 200 repeated, read from the reply)
-- to its own file, so the benchmark can check the database: none lost, none doubled.
local common = dofile(debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") .. "wrk_common.lua")
local desks = {}
local out = nil
local last = nil
counts = {}  -- a global: done() reads it from each thread with thread:get

setup = common.setup
done = common.done

function init(args)
  common.seed()
  for line in io.lines(args[1]) do
    local desk, token = line:match("^(%S+)%s+(%S+)$")
    if desk then table.insert(desks, { desk = desk, token = token }) end
  end
  out = io.open(args[2] .. "/acked-" .. common.uuid4() .. ".txt", "w")
  out:setvbuf("line")
end

-- Answers as benchmarks/load_submit.py makes them: the mood always (weighted towards
-- satisfied), its reasons 60 % of the time, the three follow-ups 30 % of the time.
local good = { "nhanh", "tan_tinh", "huong_dan", "dung_hen" }
local bad = { "cho_lau", "thai_do", "huong_dan", "tre_hen" }
local mood_weights = { 5, 8, 17, 35, 35 }

local function answers()
  local r, mood = math.random(1, 100), 1
  for value, weight in ipairs(mood_weights) do
    if r <= weight then mood = value break end
    r = r - weight
  end
  local parts = { string.format('"mood":%d', mood) }
  if math.random() < 0.6 then
    local options = mood >= 4 and good or bad
    local i = math.random(1, #options)
    local picked = { '"' .. options[i] .. '"' }
    local j = math.random(1, #options)
    if math.random() < 0.5 and j ~= i then table.insert(picked, '"' .. options[j] .. '"') end
    table.insert(parts, string.format('"%s":[%s]', mood >= 4 and "positives" or "problems",
      table.concat(picked, ",")))
  end
  if math.random() < 0.3 then
    for _, item in ipairs({ "fu_wait", "fu_staff", "fu_guidance" }) do
      table.insert(parts, string.format('"%s":%d', item, math.random(1, 5)))
    end
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

request = function()
  if last and math.random() < 0.10 then
    local again = last
    last = nil
    return again
  end
  local d = desks[math.random(1, #desks)]
  local now = os.date("!%Y-%m-%dT%H:%M:%S+00:00")
  local body = string.format(
    '{"id":"%s","desk":"%s","questionnaire":{"slug":"kiosk_quick","version":1},' ..
    '"answers":%s,"channel":"kiosk","lang":"vi","started_at":"%s","submitted_at":"%s"}',
    common.uuid4(), d.desk, answers(), now, now)
  local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. d.token }
  last = wrk.format("POST", "/api/v1/responses", headers, body)
  return last
end

response = function(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  if status == 200 or status == 201 then
    local id = body:match('"id"%s*:%s*"([%x%-]+)"')
    if id then out:write(id, " ", status, "\n") end
  end
end
