; Regions gloss can pick in Java. Capture names are documented in src/queries.rs.
; Every region kind needs one pattern whose @name is a direct child of the pattern's root.
; Annotations sit inside a declaration's `modifiers`, so a region includes them as it is.

(method_declaration
  name: (identifier) @name
  body: (block) @body) @method

; Abstract and interface methods.
(method_declaration
  name: (identifier) @name
  !body) @method

(constructor_declaration
  name: (identifier) @name
  body: (constructor_body) @body) @method

(compact_constructor_declaration
  name: (identifier) @name
  body: (block) @body) @method

(annotation_type_element_declaration
  name: (identifier) @name) @method

(lambda_expression
  body: (_) @body) @lambda

(local_variable_declaration
  declarator: (variable_declarator
    name: (identifier) @name
    value: (lambda_expression) @lambda))

(field_declaration
  declarator: (variable_declarator
    name: (identifier) @name
    value: (lambda_expression) @lambda))

(class_declaration
  name: (identifier) @name
  body: (class_body) @body) @class

(record_declaration
  name: (identifier) @name
  body: (class_body) @body) @class

; An anonymous class: its methods are picked one by one.
(object_creation_expression
  (class_body) @body) @class

(interface_declaration
  name: (identifier) @name
  body: (interface_body) @body) @interface

(annotation_type_declaration
  name: (identifier) @name
  body: (annotation_type_body) @body) @interface

(enum_declaration
  name: (identifier) @name
  body: (enum_body) @body) @enum

(if_statement) @block.if
; `else if` continues the chain it belongs to rather than starting a block of its own.
(if_statement
  alternative: (if_statement) @exclude)
(for_statement) @block.for
(enhanced_for_statement) @block.for
(while_statement) @block.while
(do_statement) @block.loop
(switch_expression) @block.match
(try_statement) @block.try
(try_with_resources_statement) @block.try

; Javadoc comments belong to the declaration after them.
((block_comment) @doc.leading
  (#match? @doc.leading "^/\\*\\*"))
