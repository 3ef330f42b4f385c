-- wrk script of benchmarks/load_wrk.py: the ceiling, POST /bench/insert (one row, one
-- commit; registered only with BENCHMARK_CEILING=1), each request a fresh id.
local common = dofile(debug.getinfo(1, "S").source:match("^@(.-)[^/]*$") .. "wrk_common.lua")

counts = {}  -- a global: done() reads it from each thread with thread:get

setup = common.setup
done = common.done

function init(args)
  common.seed()
end

request = function()
  return wrk.format("POST", "/bench/insert", { ["Content-Type"] = "text/plain" }, common.uuid4())
end

response = function(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end
