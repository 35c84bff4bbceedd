-- gloss: the :Gloss* commands. The language server starts from require("gloss").setup({...}).
if vim.g.loaded_gloss then
  return
end
vim.g.loaded_gloss = true
require("gloss").create_commands()
