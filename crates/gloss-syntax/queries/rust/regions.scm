; Regions gloss can pick in Rust. Capture names are documented in src/queries.rs.
; Every region kind needs one pattern whose @name is a direct child of the pattern's root.

(function_item
  name: (identifier) @name
  body: (block) @body) @function

(function_signature_item
  name: (identifier) @name) @function

(impl_item
  body: (declaration_list
    (function_item) @method))

(trait_item
  body: (declaration_list
    [
      (function_item)
      (function_signature_item)
    ] @method))

(closure_expression
  body: (_) @body) @closure

(let_declaration
  pattern: (identifier) @name
  value: (closure_expression) @closure)

(impl_item
  type: (_) @name
  body: (declaration_list) @body) @impl

(trait_item
  name: (type_identifier) @name
  body: (declaration_list) @body) @trait

(struct_item
  name: (type_identifier) @name) @struct

(struct_item
  body: (_) @body) @struct

(union_item
  name: (type_identifier) @name
  body: (_) @body) @struct

(enum_item
  name: (type_identifier) @name
  body: (enum_variant_list) @body) @enum

(mod_item
  name: (identifier) @name
  body: (declaration_list) @body) @module

(if_expression) @block.if
; `else if` continues the chain it belongs to rather than starting a block of its own.
(else_clause
  (if_expression) @exclude)
(for_expression) @block.for
(while_expression) @block.while
(loop_expression) @block.loop
(match_expression) @block.match

; Attributes and outer doc comments belong to the item after them.
(attribute_item) @attached

(line_comment
  outer: (outer_doc_comment_marker)) @doc.leading

(block_comment
  outer: (outer_doc_comment_marker)) @doc.leading
