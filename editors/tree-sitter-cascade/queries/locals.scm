; Scopes, definitions and references, for tree-sitter-highlight (the CLI, Zed) and
; nvim-treesitter: a reference takes the highlight of its definition.

(source_file) @local.scope
(kind_declaration) @local.scope
(rule_declaration) @local.scope
(arguments) @local.scope

(param_declaration name: (identifier) @local.definition)
(var_declaration name: (identifier) @local.definition)
(let_declaration name: (identifier) @local.definition)
(series_declaration name: (identifier) @local.definition)
(entity_declaration name: (identifier) @local.definition)
(field_declaration name: (identifier) @local.definition)
(binder name: (identifier) @local.definition)
(comprehension variable: (identifier) @local.definition)

(identifier) @local.reference
