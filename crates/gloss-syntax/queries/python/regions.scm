; Regions gloss can pick in Python. Capture names are documented in src/queries.rs.
; Every region kind needs one pattern whose @name is a direct child of the pattern's root.

(function_definition
  name: (identifier) @name
  body: (block) @body) @function

; A `def` straight inside a class body is a method, decorated or not.
(class_definition
  body: (block
    (function_definition) @method))

(class_definition
  body: (block
    (decorated_definition
      definition: (function_definition) @method)))

; Decorators are part of what they decorate.
(decorated_definition
  definition: (function_definition) @function) @extent

(decorated_definition
  definition: (class_definition) @class) @extent

; Docstrings: a string as the first statement of the body.
(function_definition
  body: (block
    .
    (expression_statement
      (string)) @doc)) @function

(class_definition
  body: (block
    .
    (expression_statement
      (string)) @doc)) @class

(lambda
  body: (_) @body) @lambda

(assignment
  left: (identifier) @name
  right: (lambda) @lambda)

(class_definition
  name: (identifier) @name
  body: (block) @body) @class

(if_statement) @block.if
(for_statement) @block.for
(while_statement) @block.while
(with_statement) @block.with
(try_statement) @block.try
(match_statement) @block.match
