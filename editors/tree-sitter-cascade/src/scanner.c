// External scanner for Cascade's numeric tokens.
//
// grammar/cascade.pest ends every number, date and integer with `!ident_char`
// (no letter, digit or `_` may follow), and its date rule falls back to a number when
// that check fails (`2026-011` is `2026 - 011`). Tree-sitter's regular-expression
// lexer has no look-ahead, so these four tokens are scanned here, following the
// pest rules one by one:
//
//   date           = ASCII_DIGIT{4} "-" ASCII_DIGIT{2} ("-" ASCII_DIGIT{2})? !ident_char
//   number         = "$"? digits ("." digits)? magnitude? !ident_char
//   digits         = ASCII_DIGIT (ASCII_DIGIT | "_")*
//   magnitude      = "%" | (("bn" | "tn" | "k" | "m") !ident_char)
//   integer        = ASCII_DIGIT+ !ident_char
//   signed_integer = "-"? ASCII_DIGIT+ !ident_char
//
// A digit that no rule accepts (`3ms`, `1_0` as a step) is left unscanned, and the
// parse reports an error there, as pest does.

#include "tree_sitter/parser.h"

#include <stdbool.h>
#include <stdint.h>

enum TokenType {
  NUMBER,
  DATE,
  INTEGER,
  SIGNED_INTEGER,
  ERROR_SENTINEL,
};

void *tree_sitter_cascade_external_scanner_create(void) { return NULL; }

void tree_sitter_cascade_external_scanner_destroy(void *payload) { (void)payload; }

unsigned tree_sitter_cascade_external_scanner_serialize(void *payload, char *buffer) {
  (void)payload;
  (void)buffer;
  return 0;
}

void tree_sitter_cascade_external_scanner_deserialize(void *payload, const char *buffer,
                                                      unsigned length) {
  (void)payload;
  (void)buffer;
  (void)length;
}

static bool is_digit(int32_t c) { return c >= '0' && c <= '9'; }

static bool is_ident_char(int32_t c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static void advance(TSLexer *lexer) { lexer->advance(lexer, false); }

// `digits` after its first digit: more digits and underscores.
static void scan_digits_tail(TSLexer *lexer) {
  while (is_digit(lexer->lookahead) || lexer->lookahead == '_') advance(lexer);
}

// The rest of a number after its integer part (which ended at a marked position,
// just before the lexer's look-ahead): fraction, magnitude and the final check.
static bool finish_number(TSLexer *lexer) {
  if (lexer->lookahead == '.') {
    // `1.x` is the number 1 followed by a field access: keep the mark before the dot.
    advance(lexer);
    if (!is_digit(lexer->lookahead)) {
      lexer->result_symbol = NUMBER;
      return true;
    }
    scan_digits_tail(lexer);
    lexer->mark_end(lexer);
  }
  if (lexer->lookahead == '%') {
    advance(lexer);
    lexer->mark_end(lexer);
  } else if (is_ident_char(lexer->lookahead)) {
    // Only a magnitude word that is not followed by another name character.
    char word[3] = {0, 0, 0};
    unsigned length = 0;
    while (is_ident_char(lexer->lookahead)) {
      if (length < 3) word[length] = (char)lexer->lookahead;
      length++;
      advance(lexer);
    }
    bool magnitude = (length == 1 && (word[0] == 'k' || word[0] == 'm')) ||
                     (length == 2 && word[1] == 'n' && (word[0] == 'b' || word[0] == 't'));
    if (!magnitude) return false;
    lexer->mark_end(lexer);
  }
  if (is_ident_char(lexer->lookahead)) return false;
  lexer->result_symbol = NUMBER;
  return true;
}

bool tree_sitter_cascade_external_scanner_scan(void *payload, TSLexer *lexer,
                                               const bool *valid_symbols) {
  (void)payload;
  bool recovering = valid_symbols[ERROR_SENTINEL];
  bool number = valid_symbols[NUMBER];
  bool date = valid_symbols[DATE];
  bool integer = valid_symbols[INTEGER] && !(recovering && number);
  bool signed_integer = valid_symbols[SIGNED_INTEGER] && !recovering;
  if (!number && !date && !integer && !signed_integer) return false;

  // pest's WHITESPACE; comments are left to the grammar's own lexer.
  while (lexer->lookahead == ' ' || lexer->lookahead == '\t' || lexer->lookahead == '\r' ||
         lexer->lookahead == '\n' || lexer->lookahead == 0xFEFF) {
    lexer->advance(lexer, true);
  }

  if (lexer->lookahead == '-') {
    if (!signed_integer) return false;
    advance(lexer);
    if (!is_digit(lexer->lookahead)) return false;
    while (is_digit(lexer->lookahead)) advance(lexer);
    if (is_ident_char(lexer->lookahead)) return false;
    lexer->result_symbol = SIGNED_INTEGER;
    return true;
  }

  if (lexer->lookahead == '$') {
    if (!number) return false;
    advance(lexer);
    if (!is_digit(lexer->lookahead)) return false;
    advance(lexer);
    scan_digits_tail(lexer);
    lexer->mark_end(lexer);
    return finish_number(lexer);
  }

  if (!is_digit(lexer->lookahead)) return false;

  // The leading run of plain digits.
  unsigned plain = 0;
  while (is_digit(lexer->lookahead)) {
    advance(lexer);
    plain++;
  }

  if (number) {
    // A number's integer part may go on with underscores.
    if (lexer->lookahead == '_') scan_digits_tail(lexer);
    lexer->mark_end(lexer);
    lexer->result_symbol = NUMBER;
  } else if (integer || signed_integer) {
    lexer->mark_end(lexer);
    lexer->result_symbol = integer ? INTEGER : SIGNED_INTEGER;
  }

  // date: exactly four digits, a dash and two digits, optionally a dash and two more.
  // Where it fails, the number or integer marked above stands, as in pest.
  if (date && plain == 4 && lexer->lookahead == '-') {
    advance(lexer);
    if (is_digit(lexer->lookahead)) {
      advance(lexer);
      if (is_digit(lexer->lookahead)) {
        advance(lexer);
        if (lexer->lookahead == '-') {
          // `2026-06-30`, or the month `2026-06` followed by a subtraction. The month
          // is marked before looking further. Where the day is followed by a name
          // character (`2026-06-30x`), pest's date fails and it reads
          // `2026 - 06 - 30x`; here the month `2026-06` stands and the rest, `- 30x`,
          // is scanned as in pest, so both accept and reject the same texts.
          lexer->mark_end(lexer);
          lexer->result_symbol = DATE;
          advance(lexer);
          if (is_digit(lexer->lookahead)) {
            advance(lexer);
            if (is_digit(lexer->lookahead)) {
              advance(lexer);
              if (!is_ident_char(lexer->lookahead)) lexer->mark_end(lexer);
            }
          }
          return true;
        }
        if (!is_ident_char(lexer->lookahead)) {
          lexer->mark_end(lexer);
          lexer->result_symbol = DATE;
          return true;
        }
      }
    }
    // Not a date: fall back to what was marked after the four digits.
    return number || integer || signed_integer;
  }

  if (number) return finish_number(lexer);
  if (integer || signed_integer) return !is_ident_char(lexer->lookahead);
  return false;
}
