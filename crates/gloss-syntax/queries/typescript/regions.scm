; Regions gloss can pick in TypeScript and TSX. Capture names are documented in src/queries.rs.
; Every region kind needs one pattern whose @name is a direct child of the pattern's root.

(function_declaration
  name: (identifier) @name
  body: (statement_block) @body) @function

(generator_function_declaration
  name: (identifier) @name
  body: (statement_block) @body) @function

; Overload signatures and `declare function`: a function without a body.
(function_signature
  name: (identifier) @name) @function

(method_definition
  name: (_) @name
  body: (statement_block) @body) @method

(method_signature
  name: (_) @name) @method

(abstract_method_signature
  name: (_) @name) @method

; A class field holding a function is a method, its declaration included.
(public_field_definition
  name: (_) @name
  value: [
    (arrow_function)
    (function_expression)
  ] @method) @extent

(function_expression
  body: (statement_block) @body) @closure

(function_expression
  name: (identifier) @name) @closure

(generator_function
  body: (statement_block) @body) @closure

(arrow_function
  body: (_) @body) @closure

; A function bound to a name is a function, whatever syntax made it.
(variable_declarator
  name: (identifier) @name
  value: [
    (arrow_function)
    (function_expression)
    (generator_function)
  ] @function)

(pair
  key: (_) @name
  value: [
    (arrow_function)
    (function_expression)
  ] @closure)

(assignment_expression
  left: (_) @name
  right: [
    (arrow_function)
    (function_expression)
  ] @closure)

; The declaration or `export` around a function is part of it (its TSDoc sits above).
(lexical_declaration
  (variable_declarator
    value: [
      (arrow_function)
      (function_expression)
      (generator_function)
    ] @function)) @extent

(variable_declaration
  (variable_declarator
    value: [
      (arrow_function)
      (function_expression)
      (generator_function)
    ] @function)) @extent

(export_statement
  declaration: (lexical_declaration
    (variable_declarator
      value: [
        (arrow_function)
        (function_expression)
        (generator_function)
      ] @function))) @extent

(export_statement
  declaration: [
    (function_declaration)
    (generator_function_declaration)
    (function_signature)
  ] @function) @extent

(export_statement
  declaration: [
    (class_declaration)
    (abstract_class_declaration)
  ] @class) @extent

(export_statement
  declaration: (interface_declaration) @interface) @extent

(export_statement
  declaration: (enum_declaration) @enum) @extent

(export_statement
  declaration: (type_alias_declaration) @type) @extent

(export_statement
  value: [
    (arrow_function)
    (function_expression)
  ] @closure) @extent

(ambient_declaration
  (function_signature) @function) @extent

(class_declaration
  name: (type_identifier) @name
  body: (class_body) @body) @class

(abstract_class_declaration
  name: (type_identifier) @name
  body: (class_body) @body) @class

(class
  body: (class_body) @body) @class

(interface_declaration
  name: (type_identifier) @name
  body: (interface_body) @body) @interface

(enum_declaration
  name: (identifier) @name
  body: (enum_body) @body) @enum

(type_alias_declaration
  name: (type_identifier) @name) @type

(internal_module
  name: (_) @name
  body: (statement_block) @body) @namespace

(if_statement) @block.if
; `else if` continues the chain it belongs to rather than starting a block of its own.
(else_clause
  (if_statement) @exclude)
(for_statement) @block.for
(for_in_statement) @block.for
(while_statement) @block.while
(do_statement) @block.loop
(switch_statement) @block.match
(try_statement) @block.try

; A member's decorators stand before it in the class body and belong to it.
(decorator) @attached

; TSDoc and JSDoc comments belong to the declaration after them.
((comment) @doc.leading
  (#match? @doc.leading "^/\\*\\*"))
