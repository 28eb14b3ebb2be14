-- wrk script for the edgemcp benchmark: sends MCP requests and verifies every reply.
--
-- The harness (bench/run.py) writes a spec file (a Lua table) per run and passes its path in
-- BENCH_SPEC. A spec has:
--   mode     = "cycle": requests are independent; step i of #steps is sent in turn and a reply
--                       is matched to its step by its JSON-RPC id (ids are unique per step), so
--                       several connections per thread are fine.
--              "chain": the steps are one sequence that must run in order on one connection
--                       (initialize -> notifications/initialized -> tools/list); the Mcp-Session-Id
--                       of a reply is sent on the next steps. Needs exactly one connection per
--                       wrk thread (-t N -c N): wrk runs request()/response() per thread, and with
--                       one connection the order on the wire is the order seen here.
--   steps    = { { path, headers = {..}, body, status, id, expect = {..}, forbid = {..},
--                  capture_session, use_session }, ... }
--   sessions = optional list of Mcp-Session-Id values, rotated over requests (cycle mode).
--
-- A reply passes when its status is the step's status, every `expect` string occurs and no
-- `forbid` string occurs in the body with all whitespace removed (so the check does not depend
-- on a serializer's spacing). done() prints one machine-readable line, BENCH_RESULT {...}, and
-- the first failure seen, BENCH_FAIL ...; any failure makes the harness report the run invalid.

local spec = dofile(os.getenv("BENCH_SPEC"))
local steps = spec.steps
local mode = spec.mode or "cycle"
local sessions = spec.sessions or {}

local by_id = {}
for _, s in ipairs(steps) do
  if s.id ~= nil then by_id[s.id] = s end
end

-- ---- main state: collect the threads so done() can read their counters ----------------------
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

-- ---- per-thread state (globals, so that thread:get can read them) ----------------------------
checked = 0
failures = 0
sequences = 0
first_failure = ""

local counter = 0
local prebuilt = {}       -- cycle mode: prebuilt[step][session index] = raw request
local chain_pos = 1
local chain_session = nil

local function with_session(headers, sid)
  local h = {}
  for k, v in pairs(headers) do h[k] = v end
  if sid ~= nil then h["Mcp-Session-Id"] = sid end
  return h
end

local function fail(reason, status, body)
  failures = failures + 1
  if first_failure == "" then
    local b = (body or ""):sub(1, 300):gsub("[\r\n]", " ")
    first_failure = string.format("%s status=%s body=%s", reason, tostring(status), b)
  end
end

local function verify(step, status, body)
  if status ~= step.status then
    return "unexpected status " .. tostring(status) .. " (wanted " .. tostring(step.status) .. ")"
  end
  if (step.expect and #step.expect > 0) or (step.forbid and #step.forbid > 0) then
    local compact = body:gsub("%s", "")
    for _, e in ipairs(step.expect or {}) do
      if not compact:find(e, 1, true) then return "missing " .. e end
    end
    for _, e in ipairs(step.forbid or {}) do
      if compact:find(e, 1, true) then return "found " .. e end
    end
  end
  return nil
end

local function session_header(headers)
  for k, v in pairs(headers) do
    if k:lower() == "mcp-session-id" then return v end
  end
  return nil
end

function init(args)
  counter = (tid or 1) - 1
  if mode == "cycle" then
    for i, s in ipairs(steps) do
      prebuilt[i] = {}
      if #sessions > 0 then
        for j, sid in ipairs(sessions) do
          prebuilt[i][j] = wrk.format("POST", s.path, with_session(s.headers, sid), s.body)
        end
      else
        prebuilt[i][1] = wrk.format("POST", s.path, s.headers, s.body)
      end
    end
  end
end

function request()
  if mode == "chain" then
    local s = steps[chain_pos]
    local sid = nil
    if s.use_session then sid = chain_session end
    return wrk.format("POST", s.path, with_session(s.headers, sid), s.body)
  end
  counter = counter + 1
  local per_step = prebuilt[(counter % #steps) + 1]
  return per_step[(counter % #per_step) + 1]
end

function response(status, headers, body)
  checked = checked + 1
  if mode == "chain" then
    local s = steps[chain_pos]
    local err = verify(s, status, body)
    if err == nil and s.capture_session then
      chain_session = session_header(headers)
      if chain_session == nil and s.require_session then err = "no Mcp-Session-Id" end
    end
    if err ~= nil then
      fail("step " .. chain_pos .. ": " .. err, status, body)
      chain_pos = 1
      chain_session = nil
      return
    end
    chain_pos = chain_pos + 1
    if chain_pos > #steps then
      sequences = sequences + 1
      chain_pos = 1
      chain_session = nil
    end
    return
  end
  local id = tonumber(body:match('"id"%s*:%s*(%d+)'))
  local s = id and by_id[id]
  if s == nil then
    fail("reply with unknown or missing id", status, body)
    return
  end
  local err = verify(s, status, body)
  if err ~= nil then fail(err, status, body) end
end

function done(summary, latency, requests)
  local c, f, seq, sample = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    c = c + (t:get("checked") or 0)
    f = f + (t:get("failures") or 0)
    seq = seq + (t:get("sequences") or 0)
    local ff = t:get("first_failure")
    if sample == "" and ff ~= nil and ff ~= "" then sample = ff end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"checked":%d,"failures":%d,' ..
    '"sequences":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes, c, f, seq,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
  if sample ~= "" then io.write("BENCH_FAIL " .. sample .. "\n") end
end
