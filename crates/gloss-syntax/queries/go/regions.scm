; Regions gloss can pick in Go. Capture names are documented in src/queries.rs.
; Every region kind needs one pattern whose @name is a direct child of the pattern's root.

(function_declaration
  name: (identifier) @name
  body: (block) @body) @function

; Assembly-backed declarations have no body.
(function_declaration
  name: (identifier) @name
  !body) @function

(method_declaration
  name: (field_identifier) @name
  body: (block) @body) @method

(method_elem
  name: (field_identifier) @name) @method

(func_literal
  body: (block) @body) @closure

; A function literal bound to a name is a function; a package-level one takes its `var` along.
(var_spec
  name: (identifier) @name
  value: (expression_list
    .
    (func_literal) @function
    .))

(var_declaration
  .
  (var_spec
    value: (expression_list
      .
      (func_literal) @function
      .))
  .) @extent

(short_var_declaration
  left: (expression_list
    .
    (identifier) @name
    .)
  right: (expression_list
    .
    (func_literal) @closure
    .))

; A type declared alone takes its `type` keyword (and the doc comment above it) along; one in
; a `type ( … )` group keeps the comment right above it.
(type_declaration
  .
  (type_spec
    type: (struct_type)) @struct
  .) @extent

(type_declaration
  .
  (type_spec
    type: (interface_type)) @interface
  .) @extent

(type_declaration
  .
  (type_spec
    type: [
      (type_identifier)
      (qualified_type)
      (generic_type)
      (pointer_type)
      (slice_type)
      (array_type)
      (map_type)
      (channel_type)
      (function_type)
    ]) @type
  .) @extent

(type_declaration
  .
  (type_alias) @type
  .) @extent

(type_spec
  name: (type_identifier) @name
  type: (struct_type
    (field_declaration_list) @body)) @struct

(type_spec
  name: (type_identifier) @name
  type: (interface_type) @body) @interface

(type_spec
  name: (type_identifier) @name
  type: [
    (type_identifier)
    (qualified_type)
    (generic_type)
    (pointer_type)
    (slice_type)
    (array_type)
    (map_type)
    (channel_type)
    (function_type)
  ]) @type

(type_alias
  name: (type_identifier) @name) @type

(if_statement) @block.if
; `else if` continues the chain it belongs to rather than starting a block of its own.
(if_statement
  alternative: (if_statement) @exclude)
(for_statement) @block.for
(expression_switch_statement) @block.match
(type_switch_statement) @block.match
(select_statement) @block.match

; Go's doc comments are plain comments right above a declaration (src/syntax.rs checks that
; nothing, not even a blank line, comes between).
(comment) @doc.leading
