; Regions gloss can pick in C. Capture names are documented in src/queries.rs.
; Every region kind needs one pattern whose @name is a direct child of the pattern's root; in
; C the name sits in the declarator, which may wrap it in pointers (`char *strdup(…)`).

(function_definition
  declarator: (function_declarator
    declarator: (identifier) @name)
  body: (compound_statement) @body) @function

(function_definition
  declarator: (_
    (function_declarator
      declarator: (identifier) @name))
  body: (compound_statement) @body) @function

(function_definition
  declarator: (_
    (_
      (function_declarator
        declarator: (identifier) @name)))
  body: (compound_statement) @body) @function

; Any other declarator (a function returning a function pointer) still makes a function.
(function_definition
  body: (compound_statement) @body) @function

; A prototype is where a header documents a function.
(declaration
  declarator: (function_declarator
    declarator: (identifier) @name)) @function

(declaration
  declarator: (_
    (function_declarator
      declarator: (identifier) @name))) @function

; Inside a function body a declaration is a statement, whatever its declarator.
(compound_statement
  (declaration) @exclude)

; A function-like macro is explained as the function it stands for.
(preproc_function_def
  name: (identifier) @name
  value: (preproc_arg) @body) @function

(struct_specifier
  name: (type_identifier) @name
  body: (field_declaration_list) @body) @struct

(struct_specifier
  body: (field_declaration_list) @body) @struct

(union_specifier
  name: (type_identifier) @name
  body: (field_declaration_list) @body) @struct

(enum_specifier
  name: (type_identifier) @name
  body: (enumerator_list) @body) @enum

(enum_specifier
  body: (enumerator_list) @body) @enum

; `typedef struct { … } name_t;`: the typedef is part of the struct and names it.
(type_definition
  type: [
    (struct_specifier
      body: (_))
    (union_specifier
      body: (_))
  ] @struct
  declarator: (type_identifier) @name) @extent

(type_definition
  type: (enum_specifier
    body: (_)) @enum
  declarator: (type_identifier) @name) @extent

(if_statement) @block.if
; `else if` continues the chain it belongs to rather than starting a block of its own.
(else_clause
  (if_statement) @exclude)
(for_statement) @block.for
(while_statement) @block.while
(do_statement) @block.loop
(switch_statement) @block.match

; Doxygen comments (`/** */`, `/*!`, `///`, `//!`) belong to the declaration after them; not
; `/**<` and the like, which document the member before them, nor `/*****` banners.
((comment) @doc.leading
  (#match? @doc.leading "^(/\\*\\*[^/<*]|/\\*![^<]|///[^/<]|//![^<])"))
