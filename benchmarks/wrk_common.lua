-- What the wrk scripts of benchmarks/load_wrk.py share: a fresh UUID (version 4) per
-- request, seeding each thread's random numbers, and the report load_wrk.py reads at the
-- end (STATUS, LATENCY and SUMMARY lines). Each script loads it from its own folder:
--   local common = dofile(debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") .. "wrk_common.lua")
-- and keeps a global `counts` table (status -> responses) that done() collects from each
-- thread; `setup = common.setup` and `done = common.done` hand wrk the shared hooks.
local common = { threads = {} }

function common.setup(thread)
  table.insert(common.threads, thread)
end

function common.uuid4()
  local function hex(n) return string.format("%0" .. n .. "x", math.random(0, 16 ^ n - 1)) end
  local variant = string.format("%x", math.random(8, 11))
  return hex(8) .. "-" .. hex(4) .. "-4" .. hex(3) .. "-" .. variant .. hex(3) .. "-" .. hex(6) .. hex(6)
end

-- Each thread's generator is seeded from /dev/urandom. The seed this replaced (the
-- time in seconds plus the process's CPU time in microseconds at init) repeated across
-- wrk runs: two runs some seconds apart whose init took as many microseconds fewer got
-- the same seed, so a thread sent an earlier run's ids again (answered 409, another
-- content) and opened the same acked-<uuid>.txt, truncating that run's record.
function common.seed()
  local random = assert(io.open("/dev/urandom", "rb"))
  local bytes = random:read(6)
  random:close()
  local seed = 0
  for i = 1, #bytes do seed = seed * 256 + bytes:byte(i) end
  math.randomseed(seed)
end

function common.done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(common.threads) do
    for status, n in pairs(thread:get("counts") or {}) do
      total[status] = (total[status] or 0) + n
    end
  end
  io.write("STATUS")
  for status, n in pairs(total) do io.write(string.format(" %d=%d", status, n)) end
  io.write("\n")
  io.write(string.format("LATENCY p50=%.3f p95=%.3f p99=%.3f\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
  io.write(string.format("SUMMARY requests=%d duration_s=%.3f errors=%d\n", summary.requests,
    summary.duration / 1e6, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.status + summary.errors.timeout))
end

return common
