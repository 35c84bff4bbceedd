-- :checkhealth gloss
local M = {}

local health = vim.health or require("health")
local start = health.start or health.report_start
local ok = health.ok or health.report_ok
local warn = health.warn or health.report_warn
local error = health.error or health.report_error
local info = health.info or health.report_info

local DEFAULT_MODEL = "qwen2.5-coder-0.5b"

local function run(argv)
  local output = vim.fn.system(argv)
  return vim.v.shell_error, vim.trim(output or "")
end

function M.check()
  start("gloss")
  if vim.fn.has("nvim-0.7") ~= 1 then
    error("Neovim 0.7 or newer is needed")
  end

  local gloss = require("gloss")
  local config = gloss.config
  local cmd = config.cmd or { "gloss", "lsp" }
  local binary = cmd[1]
  local path = vim.fn.exepath(binary)
  if path == "" then
    error(("the server `%s` is not executable or not on $PATH"):format(binary), {
      "Install gloss (cargo install --path crates/gloss) or set cmd = { '/path/to/gloss', 'lsp' } in setup()",
    })
    return
  end
  ok(("server: %s"):format(path))

  local code, version = run({ path, "--version" })
  if code == 0 then
    ok(("version: %s"):format(version))
  else
    warn(("`%s --version` failed: %s"):format(path, version))
  end

  local settings_ = config.settings or {}
  local model = settings_.model or DEFAULT_MODEL
  if settings_.backend == "openai" then
    -- A model server: nothing to find on disk; the server reports an unreachable endpoint per hover.
    if settings_.endpoint and settings_.remoteModel then
      ok(("model server: %s (model %s)"):format(settings_.endpoint, settings_.remoteModel))
    else
      error("backend = \"openai\" needs settings.endpoint and settings.remoteModel")
    end
    if settings_.apiKeyEnv and vim.env[settings_.apiKeyEnv] == nil then
      warn(("the API key variable %s is not set in this Neovim's environment"):format(settings_.apiKeyEnv))
    end
  elseif model:find("/") or model:find("%.gguf$") then
    local file = vim.fn.expand(model)
    if vim.fn.filereadable(file) == 1 then
      ok(("model file: %s"):format(file))
    else
      error(("model file not found: %s"):format(file))
    end
  else
    local found, where = run({ path, "models", "path", model })
    if found == 0 then
      ok(("model %s: %s"):format(model, where))
    else
      warn(("model %s is not pulled yet: %s"):format(model, where), {
        ("Run `%s models pull %s`"):format(binary, model),
      })
    end
  end

  local settings = vim.inspect(config.settings or {}, { newline = " ", indent = "" })
  info(("settings: %s"):format(settings))

  local clients = gloss.clients(0)
  if #clients > 0 then
    ok(("attached to this buffer (client id %d)"):format(clients[1].id))
  else
    info(("not attached to this buffer (filetypes: %s)"):format(table.concat(config.filetypes or {}, ", ")))
  end
end

return M
