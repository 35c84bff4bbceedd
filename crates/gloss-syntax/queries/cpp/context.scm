; What a C++ region draws on: includes, `using` declarations and the names it calls.

; An include or `using namespace` binds no name gloss can see, so every one is shown.
(preproc_include) @import

(using_declaration
  "namespace") @import

; `using std::string;` binds `string`.
(using_declaration
  (qualified_identifier
    name: (_) @import.name)) @import

(call_expression
  function: (identifier) @call.name)

(call_expression
  function: (field_expression
    field: (field_identifier) @call.name))

(call_expression
  function: (qualified_identifier
    name: (identifier) @call.name))

(call_expression
  function: (template_function
    name: (identifier) @call.name))

(call_expression
  function: (qualified_identifier
    name: (template_function
      name: (identifier) @call.name)))

(call_expression
  function: (field_expression
    field: (template_method
      name: (field_identifier) @call.name)))
