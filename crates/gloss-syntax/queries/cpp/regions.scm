; Regions gloss can pick in C++. Capture names are documented in src/queries.rs.
; A function definition's body is optional: `Foo& operator=(const Foo&) = delete;` has none.
; Every region kind needs one pattern whose @name is a direct child of the pattern's root; in
; C++ the name sits in the declarator, which may wrap it in pointers or references
; (`Foo& Foo::operator=(…)`). A method defined outside its class (`void Foo::bar()`) is named
; `bar`, the name its callers use.

(function_definition
  declarator: (function_declarator
    declarator: [
      (identifier)
      (field_identifier)
      (operator_name)
      (destructor_name)
      (template_function)
    ] @name)
  body: (_)? @body) @function

(function_definition
  declarator: [
    (_
      (function_declarator
        declarator: [
          (identifier)
          (field_identifier)
          (operator_name)
          (template_function)
        ] @name))
    ; `LRUHandle** FindPointer(…)`
    (_
      (_
        (function_declarator
          declarator: [
            (identifier)
            (field_identifier)
            (operator_name)
            (template_function)
          ] @name)))
  ]
  body: (_)? @body) @function

(function_definition
  declarator: [
    (function_declarator
      declarator: (qualified_identifier
        name: [
          (identifier)
          (operator_name)
          (destructor_name)
          (template_function)
        ] @name))
    (_
      (function_declarator
        declarator: (qualified_identifier
          name: [
            (identifier)
            (operator_name)
            (template_function)
          ] @name)))
    (_
      (_
        (function_declarator
          declarator: (qualified_identifier
            name: [
              (identifier)
              (operator_name)
              (template_function)
            ] @name))))
  ]
  body: (_)? @body) @method

; A nested class's method: `SkipList<Key, Comparator>::Iterator::Next`.
(function_definition
  declarator: [
    (function_declarator
      declarator: (qualified_identifier
        name: (qualified_identifier
          name: [
            (identifier)
            (operator_name)
            (destructor_name)
            (template_function)
          ] @name)))
    (_
      (function_declarator
        declarator: (qualified_identifier
          name: (qualified_identifier
            name: [
              (identifier)
              (operator_name)
              (template_function)
            ] @name))))
  ]
  body: (_)? @body) @method

; Any other declarator still makes a function.
(function_definition
  body: (_)? @body) @function

(field_declaration_list
  [
    (function_definition)
    (template_declaration
      (function_definition))
  ] @method)

; Declarations: prototypes in headers, member functions in a class body.
(declaration
  declarator: (function_declarator
    declarator: (_) @name)) @function

(declaration
  declarator: (_
    (function_declarator
      declarator: (_) @name))) @function

(field_declaration
  declarator: (function_declarator
    declarator: (_) @name)) @method

(field_declaration
  declarator: (_
    (function_declarator
      declarator: (_) @name))) @method

(field_declaration_list
  (declaration
    declarator: (function_declarator)) @method)

; Inside a function body a declaration is a statement, whatever its declarator (`Foo x(y);`).
(compound_statement
  (declaration) @exclude)

(lambda_expression
  body: (compound_statement) @body) @lambda

(declaration
  declarator: (init_declarator
    declarator: (identifier) @name
    value: (lambda_expression) @lambda))

; `template <…>` is part of what it declares, and its doc comment sits above it.
(template_declaration
  [
    (function_definition)
    (declaration
      declarator: (function_declarator))
  ] @function) @extent

(template_declaration
  (class_specifier) @class) @extent

(template_declaration
  (struct_specifier
    body: (_
      [
        (function_definition)
        (field_declaration
          declarator: (function_declarator))
        (declaration
          declarator: (function_declarator))
        (template_declaration)
      ])) @class) @extent

(template_declaration
  (struct_specifier) @struct) @extent

(class_specifier
  name: (_) @name
  body: (field_declaration_list) @body) @class

; A struct with member functions is a class in all but its default access.
(struct_specifier
  name: (_) @name
  body: (field_declaration_list
    [
      (function_definition)
      (field_declaration
        declarator: (function_declarator))
      (declaration
        declarator: (function_declarator))
      (template_declaration)
    ]) @body) @class

(struct_specifier
  name: (_) @name
  body: (field_declaration_list) @body) @struct

(struct_specifier
  body: (field_declaration_list) @body) @struct

(union_specifier
  name: (_) @name
  body: (field_declaration_list) @body) @struct

(enum_specifier
  name: (_) @name
  body: (enumerator_list) @body) @enum

(type_definition
  type: (struct_specifier
    body: (_)) @struct
  declarator: (type_identifier) @name) @extent

(namespace_definition
  name: (_) @name
  body: (declaration_list) @body) @namespace

(if_statement) @block.if
; `else if` continues the chain it belongs to rather than starting a block of its own.
(else_clause
  (if_statement) @exclude)
(for_statement) @block.for
(for_range_loop) @block.for
(while_statement) @block.while
(do_statement) @block.loop
(switch_statement) @block.match
(try_statement) @block.try

; Doxygen comments (`/** */`, `/*!`, `///`, `//!`) belong to the declaration after them; not
; `/**<` and the like, which document the member before them, nor `/*****` banners.
((comment) @doc.leading
  (#match? @doc.leading "^(/\\*\\*[^/<*]|/\\*![^<]|///[^/<]|//![^<])"))
