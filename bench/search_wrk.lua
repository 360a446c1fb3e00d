-- wrk script for bench/search.py and bench/documents_list.py: the headers and the JSON report of
-- wrk_report.lua, plus a rotation through the request paths listed (one per line) in the file
-- $BENCH_PATHS. Each thread starts at its own place in the list.

dofile(os.getenv("BENCH_DIR") .. "/wrk_report.lua")

local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
  if line ~= "" then paths[#paths + 1] = line end
end
local next_id = 0
local position = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  position = (id or 0) * 17
end

function request()
  position = position + 1
  return wrk.format("GET", paths[(position % #paths) + 1])
end
