-- One wrk script for every bench mode that needs more than a fixed URL; each thread counts
-- response statuses and done() prints the totals on a line starting with "BENCH_STATUS".
--
--   wrk ... -s bench/lua/bench.lua URL -- cold   [AUTH]          unique query per request
--   wrk ... -s bench/lua/bench.lua URL -- get    PATH [AUTH]     one path (optionally signed in)
--   wrk ... -s bench/lua/bench.lua URL -- orders TOKENS_FILE IDS  POST /api/orders/, 1 unit,
--                                                                tokens and product ids cycled
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  mode = args[1]
  counter = 0
  n2xx, n201, n3xx, n4xx, n409, n5xx, nother = 0, 0, 0, 0, 0, 0, 0
  auth = nil
  if mode == "cold" then
    if args[2] and args[2] ~= "" then auth = args[2] end
  elseif mode == "get" then
    path = args[2]
    if args[3] and args[3] ~= "" then auth = args[3] end
  elseif mode == "orders" then
    tokens = {}
    for line in io.lines(args[2]) do
      if line ~= "" then table.insert(tokens, line) end
    end
    products = {}
    for id in string.gmatch(args[3], "%d+") do table.insert(products, id) end
  else
    error("unknown mode " .. tostring(mode))
  end
end

function request()
  counter = counter + 1
  local headers = {}
  if mode == "orders" then
    -- thread t takes tokens t, t+2, t+4, ... so the threads' buyers do not overlap
    local nthreads = 2
    local i = ((counter * nthreads + tid) % #tokens) + 1
    local p = products[((counter * nthreads + tid) % #products) + 1]
    headers["Authorization"] = "Bearer " .. tokens[i]
    headers["Content-Type"] = "application/json"
    local body = '{"items":[{"product_id":' .. p .. ',"quantity":1}]}'
    return wrk.format("POST", "/api/orders/", headers, body)
  end
  if auth then headers["Authorization"] = auth end
  if mode == "cold" then
    -- a new max_price is a new SQL parameter (cachalot misses) and a new query string (the
    -- edge cache misses); it is above every price, so each page is full.
    local n = tid * 10000000 + counter
    local page_size = 10 + (counter % 21)
    local page = 1 + (counter % 3)
    return wrk.format("GET", string.format(
      "/api/products/?max_price=%d&page_size=%d&page=%d", 1000000 + n, page_size, page), headers)
  end
  return wrk.format("GET", path, headers)
end

function response(status, headers, body)
  if status == 201 then n201 = n201 + 1 end
  if status == 409 then n409 = n409 + 1 end
  if status >= 200 and status < 300 then n2xx = n2xx + 1
  elseif status >= 300 and status < 400 then n3xx = n3xx + 1
  elseif status >= 400 and status < 500 then n4xx = n4xx + 1
  elseif status >= 500 then n5xx = n5xx + 1
  else nother = nother + 1 end
end

function done(summary, latency, requests)
  local t = {n2xx = 0, n201 = 0, n3xx = 0, n4xx = 0, n409 = 0, n5xx = 0, nother = 0}
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (thread:get(k) or 0) end
  end
  io.write(string.format("BENCH_STATUS 2xx=%d 201=%d 3xx=%d 4xx=%d 409=%d 5xx=%d other=%d\n",
    t.n2xx, t.n201, t.n3xx, t.n4xx, t.n409, t.n5xx, t.nother))
end
