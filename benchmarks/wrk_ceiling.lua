-- wrk script of benchmarks/load_wrk.py: the ceiling, POST /bench/insert (one row, one
-- commit; registered only with BENCHMARK_CEILING=1), each request a fresh id.
local function uuid4()
  local function hex(n) return string.format("%0" .. n .. "x", math.random(0, 16 ^ n - 1)) end
  return hex(8) .. "-" .. hex(4) .. "-4" .. hex(3) .. "-a" .. hex(3) .. "-" .. hex(6) .. hex(6)
end

counts = {}  -- a global: done() reads it from each thread with thread:get
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6) + math.random(1, 1e6))
end

request = function()
  return wrk.format("POST", "/bench/insert", { ["Content-Type"] = "text/plain" }, uuid4())
end

response = function(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
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
