; What a TypeScript region draws on: imports, `require` bindings and the names it calls.

(import_statement
  (import_clause
    (identifier) @import.name)) @import

(import_statement
  (import_clause
    (namespace_import
      (identifier) @import.name))) @import

(import_statement
  (import_clause
    (named_imports
      (import_specifier
        alias: (identifier) @import.name)))) @import

(import_statement
  (import_clause
    (named_imports
      (import_specifier
        name: (identifier) @import.name
        !alias)))) @import

; `import fs = require("fs")`
(import_statement
  (import_require_clause
    (identifier) @import.name)) @import

([
  (lexical_declaration
    (variable_declarator
      name: (identifier) @import.name
      value: (call_expression
        function: (identifier) @_require)))
  (variable_declaration
    (variable_declarator
      name: (identifier) @import.name
      value: (call_expression
        function: (identifier) @_require)))
] @import
  (#eq? @_require "require"))

(call_expression
  function: (identifier) @call.name)

(call_expression
  function: (member_expression
    property: (property_identifier) @call.name))

(new_expression
  constructor: (identifier) @call.name)
