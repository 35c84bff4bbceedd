-- Neovim 0.7.2 with the plugin (require("gloss").setup): start_client path, :GlossExplain as a float.
-- Run by run.sh: nvim --headless --clean -c "luafile test/test_nvim07_plugin.lua"
local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")
local T = dofile(here .. "/common.lua")

T.run(function()
  local progress_texts = T.setup_plugin()
  local gloss = require("gloss")

  vim.cmd("edit " .. vim.fn.fnameescape(T.fixtures .. "/sample.py"))
  local client = T.wait_attached(30000)
  if not T.check("plugin: gloss attached to the Python buffer", client ~= nil, vim.bo.filetype) then
    return
  end
  T.check_hover(client, "plugin: python add_numbers", 1, 4)

  -- :GlossExplain: 0.7 cannot show documents, so the markdown is shown in a float, once.
  vim.api.nvim_win_set_cursor(0, { 1, 4 })
  gloss.last_result = nil
  vim.cmd("GlossExplain")
  T.wait(T.timeout_ms, function()
    return gloss.last_result ~= nil
  end)
  local res = gloss.last_result and gloss.last_result.result
  local float = T.wait_float(5000, function(t)
    return t:find("# `add_numbers`", 1, true) ~= nil
  end)
  T.log(":GlossExplain float", float)
  T.check(
    "plugin: :GlossExplain shows the explanation in one float (no showDocument on 0.7)",
    type(res) == "table" and res.shown == false and float ~= nil and float:find(T.footer, 1, true) ~= nil and #T.floats() == 1,
    { result = res, float = float, floats = #T.floats() }
  )
  T.log("plugin progress texts", progress_texts)
  T.check(
    "plugin: progress display received gloss progress",
    vim.tbl_contains(vim.tbl_map(function(t) return t:match("^gloss: explaining") ~= nil end, progress_texts), true),
    progress_texts
  )
end)
