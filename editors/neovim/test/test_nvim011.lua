-- Neovim 0.11 with the plugin: require("gloss").setup() against the real `gloss lsp`.
-- Run by run.sh: nvim --headless --clean -c "luafile test/test_nvim011.lua"
local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")
local T = dofile(here .. "/common.lua")

T.run(function()
  T.check("Neovim is 0.11+", vim.fn.has("nvim-0.11") == 1, vim.fn.execute("version"):match("NVIM v[^\n]+"))

  -- The plugin, as a plugin manager would load it.
  local progress_texts = T.setup_plugin()
  local gloss = require("gloss")

  -- Every LspProgress event, as a status-line plugin (fidget.nvim, lualine) would see it.
  local progress = {}
  vim.api.nvim_create_autocmd("LspProgress", {
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      local value = ev.data.params.value
      table.insert(progress, {
        client = client and client.name,
        kind = value.kind,
        title = value.title,
        message = value.message,
        percentage = value.percentage,
      })
    end,
  })

  vim.cmd("edit " .. vim.fn.fnameescape(T.fixtures .. "/sample.py"))
  local source_buf = vim.api.nvim_get_current_buf()
  local source_win = vim.api.nvim_get_current_win()
  local client = T.wait_attached(30000)
  if not T.check("gloss attached to the Python buffer", client ~= nil, vim.bo.filetype) then
    return
  end
  T.check(
    "server advertises hover, code actions and gloss commands",
    client.server_capabilities.hoverProvider
      and client.server_capabilities.codeActionProvider
      and vim.tbl_contains(client.server_capabilities.executeCommandProvider.commands, "gloss.explain"),
    client.server_capabilities.executeCommandProvider
  )

  -- 1. Hover on `add_numbers` (line 1).
  T.check_hover(client, "python add_numbers", 1, 4)

  -- 2. Code actions on `add_numbers`.
  T.check_gloss_actions(client, "add_numbers", 1, 4)

  -- 3. Run "Explain `add_numbers`" from the built-in menu: the server sends window/showDocument and
  --    the plugin opens the markdown file in a split.
  vim.api.nvim_set_current_win(source_win)
  vim.api.nvim_win_set_cursor(0, { 1, 4 })
  local offered = T.pick_code_action("Explain `add_numbers`")
  T.check("code-action menu offers gloss actions", vim.tbl_contains(offered, "Explain `add_numbers`"), offered)
  local doc_buf
  T.wait(T.timeout_ms, function()
    for _, b in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_get_name(b):find("%.md$") and vim.api.nvim_buf_is_loaded(b) then
        doc_buf = b
        return true
      end
    end
    return false
  end)
  local doc_text = doc_buf and T.buffer_text(doc_buf) or nil
  T.log("explain action document", doc_buf and vim.api.nvim_buf_get_name(doc_buf))
  T.check(
    "Explain action: showDocument opened a markdown buffer with the explanation",
    doc_text ~= nil
      and doc_text:find("# `add_numbers`", 1, true) ~= nil
      and doc_text:find(T.footer, 1, true) ~= nil
      and vim.bo[doc_buf].filetype == "markdown",
    doc_text or "no markdown buffer opened"
  )
  if doc_buf then
    for _, w in ipairs(vim.fn.win_findbuf(doc_buf)) do
      if w ~= source_win then
        pcall(vim.api.nvim_win_close, w, true)
      end
    end
  end

  -- 4. :GlossExplain on `average` (line 5).
  vim.api.nvim_set_current_win(source_win)
  vim.api.nvim_win_set_cursor(0, { 5, 4 })
  gloss.last_result = nil
  vim.cmd("GlossExplain")
  T.wait(T.timeout_ms, function()
    return gloss.last_result ~= nil
  end)
  local res = gloss.last_result and gloss.last_result.result
  T.log("GlossExplain result", res and { shown = res.shown, cached = res.cached, uri = res.uri })
  local opened = false
  T.wait(5000, function()
    opened = vim.api.nvim_buf_get_name(0):find("%.md$") ~= nil
    return opened
  end)
  T.check(
    ":GlossExplain: result has the markdown and the document opened in a split",
    type(res) == "table"
      and type(res.markdown) == "string"
      and res.markdown:find("`average`", 1, true) ~= nil
      and res.markdown:find(T.footer, 1, true) ~= nil
      and res.shown == true
      and opened
      and T.buffer_text(0):find("`average`", 1, true) ~= nil
      -- the plugin opens it in a split: the code stays visible
      and vim.api.nvim_get_current_win() ~= source_win
      and vim.api.nvim_win_get_buf(source_win) == source_buf,
    { result = res, current = vim.api.nvim_buf_get_name(0), windows = #vim.api.nvim_list_wins() }
  )
  if vim.api.nvim_get_current_win() ~= source_win then
    vim.api.nvim_win_close(0, true)
  end
  vim.api.nvim_set_current_win(source_win)

  -- 5. :GlossAddDocComment on `average`: the server applies an edit with a docstring.
  local before = vim.api.nvim_buf_line_count(source_buf)
  vim.api.nvim_win_set_cursor(0, { 5, 4 })
  gloss.last_result = nil
  vim.cmd("GlossAddDocComment")
  T.wait(T.timeout_ms, function()
    return T.buffer_text(source_buf):find('"""', 1, true) ~= nil
  end)
  local text = T.buffer_text(source_buf)
  T.log("after doc comment", text)
  T.check(
    ":GlossAddDocComment: the buffer got a docstring under `average`",
    text:find('def average%(values%):\n%s+"""') ~= nil and vim.api.nvim_buf_line_count(source_buf) > before,
    text
  )

  -- 6. Progress: LspProgress events from gloss, and the plugin's progress display.
  T.wait(3000, function()
    for _, p in ipairs(progress) do
      if p.client == "gloss" and p.kind == "end" then
        return true
      end
    end
    return false
  end)
  local begins, ends = 0, 0
  for _, p in ipairs(progress) do
    if p.client == "gloss" and p.kind == "begin" then
      begins = begins + 1
    elseif p.client == "gloss" and p.kind == "end" then
      ends = ends + 1
    end
  end
  T.log("LspProgress", progress)
  T.check("LspProgress events from gloss (begin and end)", begins > 0 and ends > 0, progress)
  T.log("plugin progress texts", progress_texts)
  T.check(
    "the plugin's progress display received gloss progress",
    vim.tbl_contains(vim.tbl_map(function(t) return t:match("^gloss: explaining") ~= nil end, progress_texts), true),
    progress_texts
  )

  -- 7. Rust: hover on `add_numbers` in a Rust file.
  vim.cmd("edit " .. vim.fn.fnameescape(T.fixtures .. "/sample.rs"))
  local rust_client = T.wait_attached(30000)
  if T.check("gloss attached to the Rust buffer", rust_client ~= nil, vim.bo.filetype) then
    T.check_hover(rust_client, "rust add_numbers", 1, 3)
  end

  -- 8. :checkhealth gloss
  local ok_health, err = pcall(vim.cmd, "checkhealth gloss")
  local report = ok_health and T.buffer_text(0) or tostring(err)
  T.log("checkhealth", report)
  T.check(
    ":checkhealth gloss finds the binary, its version and the model",
    ok_health
      and report:find("server: ", 1, true) ~= nil
      and report:find("version: gloss", 1, true) ~= nil
      and report:find("model " .. T.model .. ": ", 1, true) ~= nil
      and not report:find("ERROR", 1, true),
    report
  )
end)
