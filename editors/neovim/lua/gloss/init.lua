-- gloss for Neovim: starts `gloss lsp` for the configured filetypes and adds :GlossExplain and friends.
--
--   require("gloss").setup({
--     cmd = { "gloss", "lsp" },
--     settings = { model = "qwen2.5-coder-0.5b", level = "standard" },
--   })
--
-- Neovim 0.11+: vim.lsp.config + vim.lsp.enable. 0.8-0.10: vim.lsp.start from a FileType autocmd.
-- 0.7: vim.lsp.start_client + vim.lsp.buf_attach_client from a FileType autocmd.
local M = {}

local NAME = "gloss"

--- The defaults; `setup(opts)` merges `opts` over them.
M.defaults = {
  -- The server command. `gloss lsp` speaks LSP on stdin/stdout.
  cmd = { "gloss", "lsp" },
  -- The filetypes gloss explains.
  filetypes = {
    "python",
    "rust",
    "javascript",
    "javascriptreact",
    "typescript",
    "typescriptreact",
    "go",
    "java",
    "c",
    "cpp",
  },
  -- Files or directories that mark a project root (none found: the file's directory).
  root_markers = {
    ".git",
    "pyproject.toml",
    "setup.py",
    "Cargo.toml",
    "package.json",
    "tsconfig.json",
    "go.mod",
    "pom.xml",
    "build.gradle",
    "CMakeLists.txt",
  },
  -- gloss settings, sent as initializationOptions and as `settings.gloss`:
  -- model, level, maxTokens, hoverTimeoutMs, prefetch, cacheDir, threads, logLevel, and for a
  -- model server backend, endpoint, remoteModel, apiKeyEnv, maxConcurrentRequests, allowInsecureHttp.
  settings = {},
  -- Show the server's progress ("gloss: explaining `f` 40%") in the message area (0.8+).
  -- false: off; a function(message, value, client): called instead of echoing.
  progress = true,
  -- How a full explanation document opens: "vsplit", "split", "tabedit" or "edit".
  open = "vsplit",
  -- Extra fields for the client configuration (capabilities, on_attach, handlers, ...).
  client = {},
}

M.config = vim.deepcopy(M.defaults)

--- The result of the last :GlossExplain-style command (for scripts and tests).
M.last_result = nil

local function has(version)
  return vim.fn.has("nvim-" .. version) == 1
end

local function notify(message, level)
  vim.schedule(function()
    vim.notify(message, level or vim.log.levels.INFO, { title = "gloss" })
  end)
end

--- The gloss clients attached to `bufnr` (0 = current buffer).
function M.clients(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local found = {}
  local all
  if vim.lsp.get_clients then
    all = vim.lsp.get_clients({ bufnr = bufnr })
  else
    all = vim.tbl_values(vim.lsp.buf_get_clients(bufnr))
  end
  for _, client in ipairs(all) do
    if client.name == NAME then
      table.insert(found, client)
    end
  end
  return found
end

local function request(client, method, params, handler, bufnr)
  if has("0.11") then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

--- A floating window of markdown beside the cursor.
function M.float(markdown)
  local lines = vim.split(markdown, "\n", { plain = true })
  local width = math.min(100, math.max(40, math.floor(vim.o.columns * 0.6)))
  return vim.lsp.util.open_floating_preview(lines, "markdown", {
    border = "rounded",
    max_width = width,
    max_height = math.max(10, math.floor(vim.o.lines * 0.7)),
    focus_id = "gloss_explanation",
  })
end

-- The markdown last shown in a float by the showMessage handler: the command's result must not show
-- it a second time.
local shown_in_float = nil

local function progress_text(value)
  local parts = { value.title or "gloss" }
  if value.message and value.message ~= "" then
    table.insert(parts, value.message)
  end
  if value.kind ~= "end" and value.percentage then
    table.insert(parts, value.percentage .. "%")
  end
  local text = table.concat(parts, " ")
  if not text:find("^gloss") then
    text = "gloss: " .. text
  end
  return text
end

--- Shows one `$/progress` value of a gloss client as configured.
function M.show_progress(value, client)
  local setting = M.config.progress
  if not setting or type(value) ~= "table" then
    return
  end
  local text = progress_text(value)
  if type(setting) == "function" then
    setting(text, value, client)
    return
  end
  vim.schedule(function()
    vim.api.nvim_echo({ { text } }, false, {})
  end)
end

local progress_titles = {}

-- Per-client handlers: long messages (the full explanation, on editors without showDocument) open
-- in a float; explanation documents open in a split.
local function handlers()
  local result = {}
  result["window/showMessage"] = function(err, params, ctx, config)
    local message = params and params.message or ""
    if message:find("\n") and params.type ~= 1 then
      shown_in_float = message
      vim.schedule(function()
        M.float(message)
      end)
      return vim.NIL
    end
    local levels = { vim.log.levels.ERROR, vim.log.levels.WARN, vim.log.levels.INFO, vim.log.levels.INFO }
    notify(message, levels[params.type] or vim.log.levels.INFO)
    return vim.NIL
  end
  result["window/showDocument"] = function(err, params, ctx, config)
    local uri = params and params.uri or ""
    if params.external or not uri:find("^file:") or not uri:find("%.md$") then
      local default = vim.lsp.handlers["window/showDocument"]
      if default then
        return default(err, params, ctx, config)
      end
      return { success = false }
    end
    local path = vim.uri_to_fname(uri)
    local ok = pcall(vim.cmd, (M.config.open or "vsplit") .. " " .. vim.fn.fnameescape(path))
    if ok then
      vim.bo.filetype = "markdown"
    end
    return { success = ok }
  end
  if not has("0.10") then
    -- 0.10+ raises LspProgress (handled in setup); before, wrap the default handler.
    result["$/progress"] = function(err, params, ctx, config)
      local default = vim.lsp.handlers["$/progress"]
      local ret = default and default(err, params, ctx, config)
      local value = params and params.value
      if type(value) == "table" then
        -- Only `begin` carries the title: remember it per token for `report` and `end`.
        local key = tostring(ctx.client_id) .. ":" .. tostring(params.token)
        if value.kind == "begin" then
          progress_titles[key] = value.title
        else
          value = vim.tbl_extend("keep", value, { title = progress_titles[key] })
          if value.kind == "end" then
            progress_titles[key] = nil
          end
        end
        M.show_progress(value, vim.lsp.get_client_by_id(ctx.client_id))
      end
      return ret
    end
  end
  return result
end

local function client_config()
  local c = M.config
  local settings = vim.deepcopy(c.settings or {})
  local config = vim.tbl_deep_extend("force", {
    name = NAME,
    cmd = c.cmd,
    init_options = settings,
    settings = { gloss = settings },
    handlers = handlers(),
  }, c.client or {})
  if vim.tbl_isempty(settings) then
    -- An empty Lua table would be sent as a JSON array: send nothing (all defaults) instead.
    config.init_options = nil
    config.settings = nil
  end
  return config
end

local function root_dir(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  local start = name ~= "" and vim.fn.fnamemodify(name, ":p:h") or vim.fn.getcwd()
  if vim.fs and vim.fs.find then
    local found = vim.fs.find(M.config.root_markers, { path = start, upward = true })[1]
    if found then
      return vim.fs.dirname(found)
    end
  end
  return start
end

-- 0.7: one client per root directory, attached by hand.
local legacy_clients = {}

local function start_legacy(bufnr)
  local root = root_dir(bufnr)
  local id = legacy_clients[root]
  if not id or not vim.lsp.get_client_by_id(id) then
    local config = client_config()
    config.root_dir = root
    id = vim.lsp.start_client(config)
    legacy_clients[root] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
end

local augroup

--- The :Gloss* user commands (also created by plugin/gloss.lua).
function M.create_commands()
  local function command(name, fn, desc, range)
    vim.api.nvim_create_user_command(name, fn, { range = range or false, desc = desc, force = true })
  end
  command("GlossExplain", function(opts)
    M.explain(M._command_range(opts))
  end, "gloss: the full explanation of the code at the cursor (or of the selection)", true)
  command("GlossAddDocComment", function()
    M.execute("gloss.addDocComment")
  end, "gloss: write a doc comment for the function at the cursor")
  command("GlossReplaceDocComment", function()
    M.execute("gloss.replaceDocComment")
  end, "gloss: rewrite the doc comment of the function at the cursor")
  command("GlossRegenerate", function()
    M.execute("gloss.regenerate")
  end, "gloss: replace the cached hover explanation at the cursor with a new one")
end

--- Configures and enables the gloss language server. Safe to call again.
function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  -- Lists replace, they do not merge.
  for _, key in ipairs({ "cmd", "filetypes", "root_markers" }) do
    if opts and opts[key] then
      M.config[key] = opts[key]
    end
  end
  if opts and opts.settings then
    M.config.settings = vim.deepcopy(opts.settings)
  end
  augroup = vim.api.nvim_create_augroup("gloss", { clear = true })
  M.create_commands()

  if has("0.11") then
    local config = client_config()
    config.filetypes = M.config.filetypes
    config.root_markers = M.config.root_markers
    vim.lsp.config(NAME, config)
    vim.lsp.enable(NAME)
  else
    vim.api.nvim_create_autocmd("FileType", {
      group = augroup,
      pattern = M.config.filetypes,
      callback = function(args)
        if vim.bo[args.buf].buftype ~= "" then
          return
        end
        if vim.lsp.start then
          local config = client_config()
          config.root_dir = root_dir(args.buf)
          vim.lsp.start(config, { bufnr = args.buf })
        else
          start_legacy(args.buf)
        end
      end,
    })
    -- Buffers already open when setup runs (lazy loading).
    for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(M.config.filetypes, vim.bo[bufnr].filetype) then
        vim.api.nvim_exec_autocmds("FileType", { group = augroup, buffer = bufnr })
      end
    end
  end

  if has("0.10") then
    vim.api.nvim_create_autocmd("LspProgress", {
      group = augroup,
      callback = function(ev)
        local client = vim.lsp.get_client_by_id(ev.data.client_id)
        if client and client.name == NAME and ev.data.params then
          M.show_progress(ev.data.params.value, client)
        end
      end,
    })
  end
  return M
end

local function command_args(client, bufnr, range)
  local encoding = client.offset_encoding or "utf-16"
  local params
  if range then
    params = vim.lsp.util.make_given_range_params(range[1], range[2], bufnr, encoding)
  else
    params = vim.lsp.util.make_range_params(0, encoding)
  end
  local version = vim.lsp.util.buf_versions and vim.lsp.util.buf_versions[bufnr]
  if version == nil then
    version = vim.api.nvim_buf_get_changedtick(bufnr)
  end
  return {
    uri = params.textDocument.uri,
    range = params.range,
    version = version,
  }
end

--- Runs the gloss command `name` (e.g. "gloss.explain") at the cursor, or on `range`
--- ({ {row, col}, {row, col} }, rows 1-based, columns 0-based, as for make_given_range_params).
--- `on_result(result)` gets the command's result.
function M.execute(name, range, on_result)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.clients(bufnr)[1]
  if not client then
    notify("gloss is not attached to this buffer (:checkhealth gloss)", vim.log.levels.WARN)
    return false
  end
  local params = {
    command = name,
    arguments = { command_args(client, bufnr, range) },
  }
  request(client, "workspace/executeCommand", params, function(err, result)
    if err then
      notify("gloss: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    end
    M.last_result = { command = name, err = err, result = result }
    if on_result then
      on_result(result, err)
    end
    pcall(vim.api.nvim_exec_autocmds, "User", { pattern = "GlossResult", modeline = false })
  end, bufnr)
  return true
end

--- The full explanation: the server opens it as a markdown document (0.9+), or it is shown in a
--- floating window.
function M.explain(range)
  shown_in_float = nil
  local command = range and "gloss.explainSelection" or "gloss.explain"
  return M.execute(command, range, function(result)
    if type(result) ~= "table" or result.shown or type(result.markdown) ~= "string" then
      return
    end
    if shown_in_float ~= result.markdown then
      vim.schedule(function()
        M.float(result.markdown)
      end)
    end
  end)
end

-- The range of a user command: nil when it was run without one.
function M._command_range(opts)
  if not opts or opts.range == 0 then
    return nil
  end
  local start = vim.api.nvim_buf_get_mark(0, "<")
  local finish = vim.api.nvim_buf_get_mark(0, ">")
  if start[1] ~= opts.line1 or finish[1] ~= opts.line2 then
    -- A line range typed by hand (:3,7GlossExplain): whole lines.
    local last = vim.api.nvim_buf_get_lines(0, opts.line2 - 1, opts.line2, false)[1] or ""
    return { { opts.line1, 0 }, { opts.line2, math.max(#last - 1, 0) } }
  end
  return { start, finish }
end

return M
