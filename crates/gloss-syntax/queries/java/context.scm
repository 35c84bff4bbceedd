; What a Java region draws on: imports and the names it calls.

; `import a.b.C;` and `import static a.b.C.m;` bind their last name.
(import_declaration
  (scoped_identifier
    name: (identifier) @import.name)
  .) @import

; `import a.b.*;` may bind anything the code uses.
(import_declaration
  (asterisk)) @import

(method_invocation
  name: (identifier) @call.name)

(object_creation_expression
  type: [
    (type_identifier) @call.name
    (generic_type
      (type_identifier) @call.name)
  ])
