; What a Python region draws on: imports and the names it calls.

; `import a.b` binds `a`; `import a.b as c` binds `c`.
(import_statement
  name: (dotted_name
    .
    (identifier) @import.name)) @import

(import_statement
  name: (aliased_import
    alias: (identifier) @import.name)) @import

(import_from_statement
  name: (dotted_name
    .
    (identifier) @import.name)) @import

(import_from_statement
  name: (aliased_import
    alias: (identifier) @import.name)) @import

(call
  function: (identifier) @call.name)

(call
  function: (attribute
    attribute: (identifier) @call.name))

(decorator
  (identifier) @call.name)
