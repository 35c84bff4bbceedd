; Regions gloss can pick in JavaScript (and JSX). Capture names are documented in src/queries.rs.
; Every region kind needs one pattern whose @name is a direct child of the pattern's root.

(function_declaration
  name: (identifier) @name
  body: (statement_block) @body) @function

(generator_function_declaration
  name: (identifier) @name
  body: (statement_block) @body) @function

(method_definition
  name: (_) @name
  body: (statement_block) @body) @method

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

; The declaration or `export` around a function is part of it (its JSDoc sits above).
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
  ] @function) @extent

(export_statement
  declaration: (class_declaration) @class) @extent

(export_statement
  value: [
    (arrow_function)
    (function_expression)
  ] @closure) @extent

(class_declaration
  name: (identifier) @name
  body: (class_body) @body) @class

(class
  body: (class_body) @body) @class

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

; JSDoc comments belong to the declaration after them.
((comment) @doc.leading
  (#match? @doc.leading "^/\\*\\*"))
