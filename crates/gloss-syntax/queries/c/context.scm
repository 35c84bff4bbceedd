; What a C region draws on: includes and the names it calls.

; An include binds no name gloss can see, so every one is shown.
(preproc_include) @import

(call_expression
  function: (identifier) @call.name)

; Through a function pointer in a struct: `ops->read(…)`.
(call_expression
  function: (field_expression
    field: (field_identifier) @call.name))
