-- Neovim 0.7.2 with the raw start_client snippet from editors/neovim/README.md (no plugin).
-- Run by run.sh: nvim --headless --clean -c "luafile test/test_nvim07.lua"
local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")
local T = dofile(here .. "/common.lua")

--- The Lua block between the snippet markers in the README, with its `local gloss = {…}` table
--- replaced by the test's binary and settings.
local function readme_snippet()
  local readme = os.getenv("GLOSS_README") or (T.plugin_dir .. "/README.md")
  local text = table.concat(vim.fn.readfile(readme), "\n")
  local block = text:match("<!%-%- gloss%-nvim07%-snippet:begin %-%->%s*```lua\n(.-)```%s*<!%-%- gloss%-nvim07%-snippet:end %-%->")
  if not block then
    return nil, "no snippet between the gloss-nvim07-snippet markers in " .. readme
  end
  local replacement = ("local gloss = { cmd = %s, settings = %s, filetypes = { \"python\", \"rust\" } }"):format(
    vim.inspect({ T.bin, "lsp" }),
    vim.inspect(T.settings)
  )
  local replaced, count = block:gsub("local gloss = %b{}", function()
    return replacement
  end, 1)
  if count ~= 1 then
    return nil, "the snippet has no `local gloss = {…}` table"
  end
  return replaced
end

T.run(function()
  T.check("Neovim is 0.7", vim.fn.has("nvim-0.7") == 1 and vim.fn.has("nvim-0.8") == 0, vim.fn.execute("version"):match("NVIM v[^\n]+"))

  -- Progress as Neovim's own handler receives it (0.7 has no LspProgress event).
  local progress = {}
  local default_progress = vim.lsp.handlers["$/progress"]
  vim.lsp.handlers["$/progress"] = function(err, result, ctx, config)
    local value = result and result.value or {}
    table.insert(progress, { kind = value.kind, title = value.title, message = value.message, percentage = value.percentage })
    return default_progress(err, result, ctx, config)
  end

  local snippet, why = readme_snippet()
  if not T.check("README has the 0.7 snippet", snippet ~= nil, why or "") then
    return
  end
  local chunk, load_err = loadstring(snippet, "README 0.7 snippet")
  if not T.check("the 0.7 snippet compiles", chunk ~= nil, load_err or "") then
    return
  end
  chunk()

  vim.cmd("edit " .. vim.fn.fnameescape(T.fixtures .. "/sample.py"))
  local source_buf = vim.api.nvim_get_current_buf()
  local client = T.wait_attached(30000)
  if not T.check("gloss attached to the Python buffer", client ~= nil, vim.bo.filetype) then
    return
  end

  -- 1. Hover on `add_numbers` (line 1).
  T.check_hover(client, "python add_numbers", 1, 4)

  -- 2. Code actions on `add_numbers`.
  T.check_gloss_actions(client, "add_numbers", 1, 4)

  -- 3. "Explain `add_numbers`" from the menu: no showDocument on 0.7, so the server sends the
  --    markdown as window/showMessage and the snippet's handler shows it in a float.
  T.close_floats()
  vim.api.nvim_win_set_cursor(0, { 1, 4 })
  local offered = T.pick_code_action("Explain `add_numbers`")
  T.check("code-action menu offers gloss actions", vim.tbl_contains(offered, "Explain `add_numbers`"), offered)
  local float = T.wait_float(T.timeout_ms, function(t)
    return t:find("add_numbers", 1, true) ~= nil and t:find(T.footer, 1, true) ~= nil
  end)
  T.log("explain float", float)
  T.check(
    "Explain action: the full explanation (showMessage) is shown in a float",
    float ~= nil and float:find("# `add_numbers`", 1, true) ~= nil,
    float or "no float"
  )
  T.close_floats()

  -- 4. "Add doc comment to `average`" from the menu: the server applies an edit with a docstring.
  local before = vim.api.nvim_buf_line_count(source_buf)
  vim.api.nvim_win_set_cursor(0, { 5, 4 })
  offered = T.pick_code_action("Add doc comment to `average`")
  T.check("code-action menu offers Add doc comment", vim.tbl_contains(offered, "Add doc comment to `average`"), offered)
  T.wait(T.timeout_ms, function()
    return T.buffer_text(source_buf):find('"""', 1, true) ~= nil
  end)
  local text = T.buffer_text(source_buf)
  T.log("after doc comment", text)
  T.check(
    "Add doc comment action: the buffer got a docstring under `average`",
    text:find('def average%(values%):\n%s+"""') ~= nil and vim.api.nvim_buf_line_count(source_buf) > before,
    text
  )

  -- 5. Progress reached Neovim's $/progress handler.
  local begins, ends = 0, 0
  for _, p in ipairs(progress) do
    if p.kind == "begin" then
      begins = begins + 1
    elseif p.kind == "end" then
      ends = ends + 1
    end
  end
  T.log("$/progress", progress)
  T.check("$/progress from gloss (begin and end)", begins > 0 and ends > 0, progress)
end)
