; Indentation in Helix: the inside of braces and parentheses is indented one level.
[
  (scenario_declaration)
  (series_declaration)
  (kind_declaration)
  (entity_declaration)
  (block)
  (arguments)
  (parenthesized_expression)
] @indent

[
  "}"
  ")"
] @outdent
