-- wrk script for the soak (bench/soak.py): the bulk of the load, paced, every reply classified.
--
-- The harness writes a spec (a Lua table) and passes its path in SOAK_SPEC:
--   rate  = requests per second for this wrk thread (0: as fast as the server answers);
--           paced through wrk's delay() hook against a monotonic clock (LuaJIT ffi)
--   steps = { { path, headers, body, id, status, expect = {..}, forbid = {..},
--               alts = { { class, status, expect = {..}, header }, ... } }, ... }
-- Steps are sent in turn; a reply is matched to its step by its JSON-RPC id. A reply is
-- "ok" when it passes the step's own check (status, every `expect` string present and no
-- `forbid` string, whitespace ignored), else the class of the first alternative it passes
-- (e.g. "rate_limited": 429 with a JSON-RPC error and a Retry-After header), else
-- "bad:<status>". Which classes are expected, and when (a 503 while Redis is down), the
-- harness decides: here every reply is only counted, per wall-clock second, step and class.
-- done() prints SOAK_RESULT {...} (wrk's latency percentiles, socket errors, the counts)
-- and the first body seen of every "bad" class.

local spec = dofile(os.getenv("SOAK_SPEC"))
local steps = spec.steps

local by_id = {}
for i, s in ipairs(steps) do by_id[s.id] = i end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

-- per thread (globals, so that thread:get can copy them: flat tables only)
outcomes = {}   -- "second|step|class" -> count
samples = {}    -- class -> first body

local counter = 0
local prebuilt = {}

function init(args)
  for i, s in ipairs(steps) do
    prebuilt[i] = wrk.format("POST", s.path, s.headers, s.body)
  end
end

function request()
  counter = counter + 1
  return prebuilt[(counter % #steps) + 1]
end

if (spec.rate or 0) > 0 then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } soak_timespec;
    int clock_gettime(int clock, soak_timespec *ts);
  ]]
  local ts = ffi.new("soak_timespec")
  local function now()
    ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
  end
  local interval = 1 / spec.rate
  local next_free = 0
  -- Called before every request on every connection: hand out the next free slot of the
  -- schedule. A connection that fell behind sends at once; slots missed are not made up.
  function delay()
    local t = now()
    if next_free < t then next_free = t end
    local wait = next_free - t
    next_free = next_free + interval
    return math.floor(wait * 1000 + 0.5)
  end
end

local function passes(check, status, compact, headers)
  if status ~= check.status then return false end
  for _, e in ipairs(check.expect or {}) do
    if not compact:find(e, 1, true) then return false end
  end
  for _, e in ipairs(check.forbid or {}) do
    if compact:find(e, 1, true) then return false end
  end
  if check.header then
    for k, _ in pairs(headers) do
      if k:lower() == check.header then return true end
    end
    return false
  end
  return true
end

function response(status, headers, body)
  local compact = body:gsub("%s", "")
  local id = tonumber(compact:match('"id":(%d+)'))
  local index = id and by_id[id]
  local class
  if index == nil then
    index = "?"
    class = "bad:" .. status
  else
    local s = steps[index]
    if passes(s, status, compact, headers) then
      class = "ok"
    else
      for _, alt in ipairs(s.alts or {}) do
        if passes(alt, status, compact, headers) then
          class = alt.class
          break
        end
      end
      class = class or ("bad:" .. status)
    end
  end
  local key = os.time() .. "|" .. index .. "|" .. class
  outcomes[key] = (outcomes[key] or 0) + 1
  if class:sub(1, 4) == "bad:" and samples[class] == nil then
    samples[class] = body:sub(1, 300)
  end
end

local function quote(s)
  s = s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
    return string.format("\\u%04x", c:byte())
  end)
  return '"' .. s .. '"'
end

local function object(t)
  local parts = {}
  for k, v in pairs(t) do
    table.insert(parts, quote(k) .. ":" .. (type(v) == "number" and string.format("%d", v) or quote(v)))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local all, first = {}, {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("outcomes") or {}) do all[k] = (all[k] or 0) + v end
    for k, v in pairs(t:get("samples") or {}) do first[k] = first[k] or v end
  end
  local e = summary.errors
  io.write(string.format(
    'SOAK_RESULT {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d},' ..
    '"outcomes":%s,"samples":%s}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, object(all), object(first)))
end
