; Indentation (nvim-treesitter captures): the inside of braces and parentheses is
; indented one level, and the closing bracket goes back.

[
  (scenario_declaration)
  (series_declaration)
  (kind_declaration)
  (entity_declaration)
  (block)
  (arguments)
  (parenthesized_expression)
] @indent.begin

[
  "}"
  ")"
] @indent.branch @indent.end

(comment) @indent.auto
