; What a Rust region draws on: `use` items and the names it calls.

(use_declaration
  argument: (identifier) @import.name) @import

(use_declaration
  argument: (scoped_identifier
    name: (identifier) @import.name)) @import

(use_declaration
  argument: (use_as_clause
    alias: (identifier) @import.name)) @import

; Names in a `{...}` list, two levels deep.
(use_declaration
  argument: (scoped_use_list
    list: (use_list
      [
        (identifier) @import.name
        (scoped_identifier
          name: (identifier) @import.name)
        (use_as_clause
          alias: (identifier) @import.name)
      ]))) @import

(use_declaration
  argument: (scoped_use_list
    list: (use_list
      (scoped_use_list
        list: (use_list
          [
            (identifier) @import.name
            (scoped_identifier
              name: (identifier) @import.name)
            (use_as_clause
              alias: (identifier) @import.name)
          ]))))) @import

(use_declaration
  argument: (use_list
    [
      (identifier) @import.name
      (scoped_identifier
        name: (identifier) @import.name)
      (use_as_clause
        alias: (identifier) @import.name)
    ])) @import

(extern_crate_declaration
  name: (identifier) @import.name) @import

(call_expression
  function: (identifier) @call.name)

(call_expression
  function: (field_expression
    field: (field_identifier) @call.name))

(call_expression
  function: (scoped_identifier
    name: (identifier) @call.name))

(call_expression
  function: (generic_function
    function: [
      (identifier) @call.name
      (scoped_identifier
        name: (identifier) @call.name)
      (field_expression
        field: (field_identifier) @call.name)
    ]))
