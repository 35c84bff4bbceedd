-- Helpers shared by the headless Neovim tests (0.7.2 and 0.11). Loaded with dofile().
-- Environment: GLOSS_BIN, GLOSS_TEST_CACHE (a fresh cache dir), GLOSS_TEST_OUT (JSON result file),
-- GLOSS_TEST_FIXTURES, GLOSS_PLUGIN_DIR.
local T = {}

T.started = vim.loop.hrtime()
T.checks = {}
T.events = {}
T.failed = 0
T.out = os.getenv("GLOSS_TEST_OUT") or "/tmp/gloss-nvim-test.json"
T.bin = os.getenv("GLOSS_BIN") or "gloss"
T.cache = os.getenv("GLOSS_TEST_CACHE") or vim.fn.tempname()
T.fixtures = os.getenv("GLOSS_TEST_FIXTURES") or "."
T.plugin_dir = os.getenv("GLOSS_PLUGIN_DIR") or "."
T.model = os.getenv("GLOSS_TEST_MODEL") or "smollm2-135m"
-- A generation on a small CPU (two shared cores) takes seconds; model loading more.
T.timeout_ms = tonumber(os.getenv("GLOSS_TEST_WAIT_MS") or "") or 120000
T.footer = "gloss · " .. T.model

T.settings = {
  model = T.model,
  hoverTimeoutMs = 60000,
  cacheDir = T.cache,
  logLevel = "info",
}

local function elapsed()
  return math.floor((vim.loop.hrtime() - T.started) / 1e6)
end

function T.log(kind, value)
  table.insert(T.events, { t_ms = elapsed(), kind = kind, value = value })
end

--- Records one named check; `detail` is what was seen (kept short in the JSON).
function T.check(name, ok, detail)
  ok = ok and true or false
  if type(detail) ~= "string" then
    detail = vim.inspect(detail)
  end
  if #detail > 600 then
    detail = detail:sub(1, 600) .. "…"
  end
  table.insert(T.checks, { name = name, ok = ok, detail = detail, t_ms = elapsed() })
  if not ok then
    T.failed = T.failed + 1
  end
  io.stderr:write(("[%s] %s%s\n"):format(ok and "PASS" or "FAIL", name, ok and "" or (": " .. detail)))
  return ok
end

function T.finish(extra)
  local result = {
    nvim = vim.fn.execute("version"):match("NVIM v[%w%.%-%+]+"),
    passed = T.failed == 0 and #T.checks > 0,
    failed = T.failed,
    total = #T.checks,
    duration_ms = elapsed(),
    checks = T.checks,
    events = T.events,
  }
  for k, v in pairs(extra or {}) do
    result[k] = v
  end
  vim.fn.writefile({ vim.fn.json_encode(result) }, T.out)
  vim.cmd(result.passed and "qall!" or "cquit! 1")
end

--- Runs `main` and always writes the result file, even when a Lua error escapes.
function T.run(main)
  local ok, err = xpcall(main, debug.traceback)
  if not ok then
    T.check("no Lua error", false, tostring(err))
  end
  T.finish()
end

function T.wait(ms, predicate)
  return vim.wait(ms, predicate, 50)
end

function T.floats()
  local found = {}
  for _, w in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(w).relative ~= "" then
      table.insert(found, w)
    end
  end
  return found
end

function T.float_text(win)
  return table.concat(vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false), "\n")
end

function T.close_floats()
  for _, w in ipairs(T.floats()) do
    pcall(vim.api.nvim_win_close, w, true)
  end
end

--- Waits for a floating window whose text satisfies `predicate`; returns its text.
function T.wait_float(ms, predicate)
  local text
  T.wait(ms, function()
    for _, w in ipairs(T.floats()) do
      local t = T.float_text(w)
      if predicate == nil or predicate(t) then
        text = t
        return true
      end
    end
    return false
  end)
  return text
end

function T.buffer_text(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr or 0, 0, -1, false), "\n")
end

function T.gloss_client(bufnr)
  local clients
  if vim.lsp.get_clients then
    clients = vim.lsp.get_clients({ bufnr = bufnr or 0 })
  else
    clients = vim.tbl_values(vim.lsp.buf_get_clients(bufnr or 0))
  end
  for _, c in ipairs(clients) do
    if c.name == "gloss" then
      return c
    end
  end
end

--- Waits until a gloss client is attached to the current buffer and initialized.
function T.wait_attached(ms)
  local client
  T.wait(ms, function()
    client = T.gloss_client(0)
    return client ~= nil and client.initialized == true
  end)
  if client and not client.initialized then
    -- 0.7 has no `initialized` field: the capabilities arrive with the initialize result.
    local caps = client.server_capabilities or client.resolved_capabilities
    if caps and next(caps) then
      return client
    end
  end
  return client and client.initialized and client or nil
end

local function encoding(client)
  return client.offset_encoding or "utf-16"
end

--- The hover at (row 1-based, col 0-based) in the current buffer, through a raw request.
function T.hover_request(client, row, col)
  vim.api.nvim_win_set_cursor(0, { row, col })
  local params = vim.lsp.util.make_position_params(0, encoding(client))
  local res = vim.lsp.buf_request_sync(0, "textDocument/hover", params, T.timeout_ms)
  local answer = res and res[client.id]
  if not answer then
    return nil, "no answer (timeout?)"
  end
  if answer.err then
    return nil, vim.inspect(answer.err)
  end
  local contents = answer.result and answer.result.contents
  if type(contents) == "table" then
    return contents.value or contents[1] or vim.inspect(contents)
  end
  return contents
end

--- The titles of the code actions at (row, col), through a raw request.
function T.code_action_titles(client, row, col)
  vim.api.nvim_win_set_cursor(0, { row, col })
  local params = vim.lsp.util.make_range_params(0, encoding(client))
  params.context = { diagnostics = {} }
  local res = vim.lsp.buf_request_sync(0, "textDocument/codeAction", params, 10000)
  local answer = res and res[client.id]
  local titles = {}
  for _, action in ipairs(answer and answer.result or {}) do
    table.insert(titles, action.title)
  end
  return titles
end

--- Opens the built-in code-action menu with vim.ui.select stubbed to pick the first title that
--- starts with `prefix`. Returns the titles the menu offered.
function T.pick_code_action(prefix)
  local offered = nil
  local original = vim.ui.select
  vim.ui.select = function(items, opts, on_choice)
    offered = {}
    local choice
    for i, item in ipairs(items) do
      local action = item.action or item[2] -- 0.8+: {action=, ctx=}; 0.7: {client_id, action}
      table.insert(offered, action.title)
      if not choice and action.title:sub(1, #prefix) == prefix then
        choice = i
      end
    end
    vim.ui.select = original
    if choice then
      on_choice(items[choice], choice)
    else
      on_choice(nil, nil)
    end
  end
  vim.lsp.buf.code_action()
  T.wait(10000, function()
    return offered ~= nil
  end)
  vim.ui.select = original
  return offered or {}
end

function T.is_explanation(text)
  return type(text) == "string"
    and #vim.trim(text) > 0
    and not text:find("Explaining", 1, true)
    and not text:find("cannot explain", 1, true)
    and text:find(T.footer, 1, true) ~= nil
end

--- Hover checks: the raw answer and the float `vim.lsp.buf.hover()` opens.
function T.check_hover(client, label, row, col)
  local text, err = T.hover_request(client, row, col)
  T.log("hover " .. label, text or err)
  T.check(label .. ": hover is an explanation with the gloss footer", T.is_explanation(text), text or err)
  T.close_floats()
  vim.api.nvim_win_set_cursor(0, { row, col })
  vim.lsp.buf.hover()
  local float = T.wait_float(T.timeout_ms, function(t)
    return t:find(T.footer, 1, true) ~= nil
  end)
  T.log("hover float " .. label, float)
  T.check(label .. ": vim.lsp.buf.hover() float shows the explanation", T.is_explanation(float), float or "no float")
  T.close_floats()
end

-- Asks for the code actions at (row, col) and checks gloss offers Explain and Add doc comment
-- for `name`.
function T.check_gloss_actions(client, name, row, col)
  local titles = T.code_action_titles(client, row, col)
  T.log("code actions", titles)
  T.check(
    "code actions include Explain and Add doc comment",
    vim.tbl_contains(titles, "Explain `" .. name .. "`")
      and vim.tbl_contains(titles, "Add doc comment to `" .. name .. "`"),
    titles
  )
end

-- Loads the plugin as a plugin manager would and sets it up against the test server; returns the
-- list the plugin's progress texts are collected into.
function T.setup_plugin()
  vim.opt.runtimepath:prepend(T.plugin_dir)
  vim.cmd("runtime! plugin/gloss.lua")
  local progress_texts = {}
  require("gloss").setup({
    cmd = { T.bin, "lsp" },
    settings = T.settings,
    progress = function(text)
      table.insert(progress_texts, text)
    end,
  })
  return progress_texts
end

return T
