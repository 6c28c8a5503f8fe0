/**
 * @file Tree-sitter grammar for Cascade, a rules-based language for contagion scenarios.
 *
 * This is a port of grammar/cascade.pest (the authoritative grammar) and must accept
 * exactly the same files: editors/ci.sh parses every example and every test case with it.
 * Rule names follow the pest rules where they can (`when_trigger`, `after_effect`, ...).
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

// Binding strength of the infix operators (higher binds tighter). Prefix operators
// (`-`, `not`) apply to one operand, as in the pest rule `operand`.
const PREC = {
  or: 1,
  and: 2,
  compare: 3,
  add: 4,
  mul: 5,
  // `^` binds tighter than the prefix `-` (`-2 ^ 2` is -4) and is right-associative.
  pow: 6,
  field: 7,
};

/**
 * Items inside `{ }`: separated by commas or by nothing at all (newlines).
 * @param {RuleOrLiteral} rule
 */
function items(rule) {
  return seq('{', repeat(seq(rule, optional(','))), '}');
}

/**
 * @param {RuleOrLiteral} rule
 */
function commaSep1(rule) {
  return seq(rule, repeat(seq(',', rule)));
}

module.exports = grammar({
  name: 'cascade',

  // pest: WHITESPACE = " " | "\t" | "\r" | "\n" | BOM; COMMENT = "#" to end of line.
  extras: $ => [/[ \t\r\n\uFEFF]/, $.comment],

  word: $ => $.identifier,

  externals: $ => [$.number, $.date, $.integer, $.signed_integer, $._error_sentinel],

  // The reserved words of src/syntax/keywords.rs (KEYWORDS): never an identifier.
  // The contextual words `recovery`, `steps` and `step` are deliberately not here.
  reserved: {
    global: $ => [
      // BEGIN KEYWORDS (checked by tests/editors.rs against cascade::syntax::KEYWORDS)
      'scenario', 'param', 'var', 'let', 'series', 'kind', 'entity', 'exposure',
      'entities', 'exposures', 'from',
      'rule', 'when', 'while', 'then', 'for', 'in', 'where', 'priority', 'after',
      'at', 'emit', 'default', 'stop', 'expect', 'assert', 'linear', 'hold',
      'and', 'or', 'not', 'true', 'false', 'self', 'if', 'else',
      'clearing', 'debtrank', 'together', 'solve',
      // END KEYWORDS
    ],
  },

  // `expect x > 0 at 5` against `expect x > 0` followed by the rule `at 5 then ...`:
  // pest looks past the time point for `then` or `{`; here both parses are tried.
  conflicts: $ => [[$.expect_declaration]],

  rules: {
    source_file: $ => repeat($._item),

    _item: $ => choice(
      $.scenario_declaration,
      $.param_declaration,
      $.var_declaration,
      $.let_declaration,
      $.series_declaration,
      $.kind_declaration,
      $.entity_declaration,
      $.exposure_declaration,
      $.entities_declaration,
      $.exposures_declaration,
      $.clearing_declaration,
      $.debtrank_declaration,
      $.expect_declaration,
      $.assert_declaration,
      $.rule_declaration,
    ),

    // ---------------------------------------------------------------- declarations

    scenario_declaration: $ => seq('scenario', field('name', $.string), items($.setting)),
    setting: $ => seq(field('name', $.identifier), '=', field('value', $._expression)),

    clearing_declaration: $ => seq(
      'clearing', field('kind', $.identifier), field('model', $.identifier), optional(items($.setting)),
    ),
    debtrank_declaration: $ => seq(
      'debtrank', field('kind', $.identifier), optional(field('variant', $.identifier)), optional(items($.setting)),
    ),

    param_declaration: $ => seq(
      'param', field('name', $.identifier), '=', field('value', $._expression),
      optional(seq('~', field('distribution', $._expression))),
    ),
    var_declaration: $ => seq('var', field('name', $.identifier), '=', field('value', $._expression)),
    let_declaration: $ => seq('let', field('name', $.identifier), '=', field('value', $._expression)),

    series_declaration: $ => seq(
      'series',
      field('name', $.identifier),
      optional(field('mode', $.series_mode)),
      '=',
      items($.series_point),
    ),
    series_mode: _ => choice('linear', 'hold'),
    series_point: $ => seq(field('time', $._time_point), ':', field('value', $._expression)),
    _time_point: $ => choice($.date, $.integer),

    kind_declaration: $ => seq('kind', field('name', $.identifier), items($.field_declaration)),
    field_declaration: $ => choice(
      seq(
        optional(field('derived', 'let')),
        field('name', $.identifier),
        '=',
        field('value', $._expression),
      ),
      seq(
        field('solve', 'solve'),
        field('name', $.identifier),
        'from',
        field('start', $._expression),
        optional(seq('within', field('within', $._expression))),
        optional(seq('limit', field('limit', $._expression))),
        '=',
        field('value', $._expression),
      ),
    ),

    entity_declaration: $ => seq(
      'entity',
      field('name', $.identifier),
      ':',
      field('kind', $.identifier),
      optional(items($.field_initializer)),
    ),
    field_initializer: $ => seq(field('name', $.identifier), '=', field('value', $._expression)),

    exposure_declaration: $ => seq(
      'exposure',
      field('creditor', $.identifier),
      '->',
      field('debtor', $.identifier),
      '=',
      field('amount', $._expression),
      optional(seq(',', 'recovery', field('recovery', $._expression))),
      optional(field('fields', $.exposure_fields)),
    ),
    // `{ maturity = 2027-06 }`: extra fields of an exposure, read as `x.maturity`.
    exposure_fields: $ => items($.field_initializer),

    // `entities Bank from "banks.csv"`, `exposures from "exposures.csv"`
    entities_declaration: $ => seq('entities', field('kind', $.identifier), 'from', field('file', $.string)),
    exposures_declaration: $ => seq('exposures', 'from', field('file', $.string)),

    expect_declaration: $ => seq(
      'expect',
      field('condition', $._expression),
      optional(seq('at', field('time', $._time_point))),
    ),
    assert_declaration: $ => seq(
      'assert',
      field('condition', $._expression),
      optional(field('message', $.string)),
    ),

    // ----------------------------------------------------------------------- rules

    rule_declaration: $ => seq(
      optional(field('header', $.rule_header)),
      optional(field('binders', $.binders)),
      field('trigger', choice($.when_trigger, $.while_trigger, $.at_trigger)),
    ),
    rule_header: $ => seq(
      'rule',
      field('name', $.identifier),
      optional(field('description', $.string)),
      optional(seq('priority', field('priority', $.signed_integer))),
      ':',
    ),
    binders: $ => seq(
      'for',
      commaSep1($.binder),
      optional(field('together', 'together')),
      optional(seq('where', field('filter', $._expression))),
    ),
    binder: $ => seq(field('name', $.identifier), ':', field('kind', $.identifier)),

    when_trigger: $ => seq('when', field('condition', $._expression), $._body),
    while_trigger: $ => seq('while', field('condition', $._expression), $._body),
    // `at 12`, `at 2026-03` or `at outage_month`: a constant of params.
    at_trigger: $ => seq('at', field('time', $._expression), $._body),

    _body: $ => choice(
      field('body', $.block),
      seq('then', field('body', choice($.block, $._effect))),
    ),
    block: $ => items(choice($.local_declaration, $._effect)),
    // `let need = l.debt - l.cash`: a local of the block, for the effects after it.
    local_declaration: $ => seq('let', field('name', $.identifier), '=', field('value', $._expression)),

    _effect: $ => choice(
      $.after_effect,
      $.default_effect,
      $.emit_effect,
      $.stop_effect,
      $.assignment,
    ),
    after_effect: $ => seq(
      'after',
      field('delay', $._expression),
      choice('steps', 'step'),
      field('effect', $._effect),
    ),
    default_effect: $ => seq('default', '(', field('entity', $._expression), ')'),
    emit_effect: $ => seq('emit', field('message', $.string)),
    stop_effect: $ => seq('stop', optional(field('reason', $.string))),
    assignment: $ => seq(
      field('target', $.target),
      field('operator', choice('=', '+=', '-=', '*=', '/=')),
      field('value', $._expression),
    ),
    target: $ => seq($.identifier, optional(seq('.', field('field', $.identifier)))),

    // ----------------------------------------------------------------- expressions

    _expression: $ => choice($.binary_expression, $._operand),

    binary_expression: $ => {
      /** @type {[number, RuleOrLiteral][]} */
      const table = [
        [PREC.or, 'or'],
        [PREC.and, 'and'],
        [PREC.compare, choice('<=', '>=', '!=', '==', '<', '>')],
        [PREC.add, choice('+', '-')],
        [PREC.mul, choice('*', '/')],
      ];
      return choice(...table.map(([p, op]) => prec.left(p, seq(
        field('left', $._expression),
        field('operator', op),
        field('right', $._expression),
      ))));
    },

    // `a ^ b`: its operands are postfix expressions or powers, so that a prefix
    // operator applies to the whole power.
    power_expression: $ => prec.right(PREC.pow, seq(
      field('left', $._postfix),
      field('operator', '^'),
      field('right', choice($._postfix, $.power_expression, $.unary_expression)),
    )),

    // pest: operand = prefix{0,4} ~ primary ~ postfix*. At most four prefix operators.
    _operand: $ => choice($._postfix, $.unary_expression, $.power_expression),
    unary_expression: $ => seq(
      field('operator', $._prefix_operator),
      field('operand', choice($._postfix, $.power_expression, alias($._unary3, $.unary_expression))),
    ),
    _unary3: $ => seq(
      field('operator', $._prefix_operator),
      field('operand', choice($._postfix, $.power_expression, alias($._unary2, $.unary_expression))),
    ),
    _unary2: $ => seq(
      field('operator', $._prefix_operator),
      field('operand', choice($._postfix, $.power_expression, alias($._unary1, $.unary_expression))),
    ),
    _unary1: $ => seq(field('operator', $._prefix_operator), field('operand', choice($._postfix, $.power_expression))),
    _prefix_operator: _ => choice('-', 'not'),

    _postfix: $ => choice($._primary, $.field_expression),
    // Tighter than anything: `if c then a else b.x` reads `b.x`, as pest does.
    field_expression: $ => prec.left(PREC.field, seq(field('object', $._postfix), '.', field('field', $.identifier))),

    _primary: $ => choice(
      $.parenthesized_expression,
      $.date,
      $.number,
      $.string,
      $.boolean,
      $.self,
      $.call_expression,
      $.if_expression,
      $.identifier,
    ),
    // `if p > 50 then 1 else if p > 20 then 0.5 else 0`: the else branch runs to
    // the end of the expression.
    if_expression: $ => prec.right(seq(
      'if',
      field('condition', $._expression),
      'then',
      field('consequence', $._expression),
      'else',
      field('alternative', $._expression),
    )),
    parenthesized_expression: $ => seq('(', $._expression, ')'),
    boolean: _ => choice('true', 'false'),
    // A node that holds the keyword, so that queries can name both `(self)` and "self".
    self: _ => seq('self', optional(blank())),

    // `min(a, b)`, or an aggregate: `sum(l.debt for l in Lessor where not l.defaulted)`
    call_expression: $ => seq(field('function', $.identifier), field('arguments', $.arguments)),
    arguments: $ => seq(
      '(',
      optional(seq($._expression, choice($.comprehension, repeat(seq(',', $._expression))))),
      ')',
    ),
    comprehension: $ => seq(
      'for',
      field('variable', $.identifier),
      'in',
      field('collection', $._expression),
      optional(seq('where', field('filter', $._expression))),
    ),

    // ---------------------------------------------------------------------- tokens

    // A quoted name (`` `1st Bank` ``) is a name from a data file that is not an identifier.
    identifier: _ => token(choice(/[A-Za-z_][A-Za-z0-9_]*/, /`[^`\r\n]+`/)),

    // `date` (`2026-01`, `2026-01-31`), `number` (`3`, `1.50`, `1_000_000`, `1.5bn`,
    // `45%`, `$1.50`), `integer` (a step number: a series point, an `at` trigger,
    // `expect ... at`) and `signed_integer` (`priority -1`) come from src/scanner.c,
    // which applies pest's `!ident_char` checks.

    // `"text with {interpolated} expressions"`; escapes `\" \\ \n \t \{ \}`.
    string: $ => seq(
      '"',
      repeat(choice($.string_content, $.escape_sequence, $.interpolation)),
      token.immediate('"'),
    ),
    string_content: _ => token.immediate(prec(1, /[^"\\{}\n]+/)),
    escape_sequence: _ => token.immediate(/\\["\\nt{}]/),
    interpolation: $ => seq(token.immediate('{'), $._expression, '}'),

    comment: _ => token(seq('#', /[^\n]*/)),
  },
});
