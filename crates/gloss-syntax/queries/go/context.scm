; What a Go region draws on: imports and the names it calls.

; `import str "strings"` binds `str`; `import "net/http"` binds the package name, `http`
; (src/outline.rs reads it off the path).
(import_spec
  name: (package_identifier) @import.name) @import

(import_spec
  !name
  path: (_) @import.name) @import

(call_expression
  function: (identifier) @call.name)

(call_expression
  function: (selector_expression
    field: (field_identifier) @call.name))

; Explicitly instantiated generics: `Map[int, string](xs, f)`.
(call_expression
  function: (index_expression
    operand: [
      (identifier) @call.name
      (selector_expression
        field: (field_identifier) @call.name)
    ]))
