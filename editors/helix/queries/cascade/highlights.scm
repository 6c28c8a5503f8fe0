; Highlights for Cascade (.cascade) in Helix: the same patterns as
; editors/tree-sitter-cascade/queries/highlights.scm, with Helix's capture names.
; When two patterns capture the same node, the later one wins (Helix >= 25.07), so the
; specific patterns come after the general ones.

(comment) @comment

; ------------------------------------------------------------------ punctuation

[
  "=" "+=" "-=" "*=" "/="
  "+" "-" "*" "/" "^"
  "<" "<=" ">" ">=" "==" "!="
  "->"
] @operator

[ "(" ")" "{" "}" ] @punctuation.bracket
[ "," ":" "." ] @punctuation.delimiter

(identifier) @variable

; Built-in names that read the state of the run or of an entity.
; BEGIN BUILTIN_NAMES (checked by tests/editors.rs against cascade::syntax::BUILTIN_NAMES)
((identifier) @variable.builtin
  (#any-of? @variable.builtin "step" "date" "defaulted" "defaulted_at"))
; END BUILTIN_NAMES

(self) @variable.builtin

; ------------------------------------------------------------------ declarations

(param_declaration name: (identifier) @constant)
(var_declaration name: (identifier) @variable)
(let_declaration name: (identifier) @variable)
(series_declaration name: (identifier) @variable)
(setting name: (identifier) @variable.other.member)
(field_declaration name: (identifier) @variable.other.member)
(field_initializer name: (identifier) @variable.other.member)
(field_expression field: (identifier) @variable.other.member)
(target field: (identifier) @variable.other.member)

(kind_declaration name: (identifier) @type)
(entity_declaration kind: (identifier) @type)
(binder kind: (identifier) @type)
; Kinds are CapitalCase by convention (`for l in Lessor`).
((identifier) @type
  (#match? @type "^[A-Z]"))

(entity_declaration name: (identifier) @variable)
(exposure_declaration creditor: (identifier) @variable)
(exposure_declaration debtor: (identifier) @variable)
(binder name: (identifier) @variable.parameter)
(comprehension variable: (identifier) @variable.parameter)

(rule_header name: (identifier) @function)
(rule_header description: (string) @string)

; ------------------------------------------------------------------ calls

(call_expression function: (identifier) @function)

; BEGIN BUILTIN_FUNCTIONS (checked by tests/editors.rs against cascade::syntax::BUILTIN_FUNCTIONS)
(call_expression
  function: (identifier) @function.builtin
  (#any-of? @function.builtin
    "min" "max" "abs" "clamp" "round" "floor" "ceil" "sqrt" "exp" "ln" "log10" "sum" "count"
    "any" "all" "mean"
    "exposures_of" "exposures_to" "exposure_losses" "sign"
    "clearing_payment" "clearing_defaulted" "clearing_round" "clearing_shortfall" "distress" "debt_rank"))
; END BUILTIN_FUNCTIONS

; ------------------------------------------------------------------ keywords

; BEGIN KEYWORDS (checked by tests/editors.rs against cascade::syntax::KEYWORDS)
[
  "scenario" "param" "var" "let" "series" "kind" "entity" "exposure" "entities" "exposures" "clearing" "debtrank"
  "from"
] @keyword

[
  "rule" "when" "while" "then" "for" "in" "where" "priority" "after" "at"
  "emit" "default" "stop" "expect" "assert" "linear" "hold" "if" "else" "together" "solve"
] @keyword

[
  "and" "or" "not"
] @keyword.operator

[
  "true" "false"
] @constant.builtin.boolean

"self" @variable.builtin
; END KEYWORDS

; Contextual words: keywords only where the grammar expects them.
[
  "recovery" "steps" "step" "within" "limit"
] @keyword

; ------------------------------------------------------------------ literals

(number) @constant.numeric
(integer) @constant.numeric
(signed_integer) @constant.numeric
(date) @constant.numeric
(string) @string
(escape_sequence) @constant.character.escape
; The braces of `{expr}` in a string (after the general bracket pattern: later wins).
(interpolation
  "{" @punctuation.special
  "}" @punctuation.special)
