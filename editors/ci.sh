#!/usr/bin/env bash
# Checks of the editor support in editors/ that need Node.js, Vim or the tree-sitter
# CLI (the Rust-side checks are in tests/editors.rs, run by `cargo test`).
#
#   bash editors/ci.sh            # from anywhere; installs what is missing, then checks
#
# On a fresh Debian machine with Rust, Node.js 20 and npm (as root) it installs:
#   - vim (apt-get), if there is no vim with syntax support;
#   - vscode-tmgrammar-test (npm ci, from editors/package-lock.json) into editors/node_modules;
#   - tree-sitter-cli $TS_VERSION (cargo install --locked --no-default-features --debug),
#     if missing: about 2-3 minutes of compiling on 2 cores, once per machine.
# It ends with the line `editors: N passed, M failed` and exits 1 if any check failed.

set -euo pipefail

EDITORS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$EDITORS")
TS_DIR=$EDITORS/tree-sitter-cascade
# The generated parser in tree-sitter-cascade/src is checked against this exact version.
TS_VERSION=0.27.1

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$EDITORS"

t_start=$SECONDS
log() { printf '%s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() {
  if [ $apt_updated = 0 ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ------------------------------------------------------------------ installs

log "--- install"
if ! vim -N -u NONE -i NONE -es -c 'if !has("syntax") || !has("eval") | cquit | endif' -c 'qall!' </dev/null >/dev/null 2>&1; then
  log "installing vim (apt-get)"
  apt_install vim
fi
if ! command -v cc >/dev/null 2>&1; then
  log "installing a C compiler for the tree-sitter parser (apt-get)"
  apt_install gcc libc6-dev
fi

t0=$SECONDS
npm ci --no-audit --no-fund --loglevel=error >/dev/null
log "npm ci: $((SECONDS - t0)) s"

CARGO_BIN=${CARGO_HOME:-$HOME/.cargo}/bin
TS=""
for candidate in "$CARGO_BIN/tree-sitter" "$(command -v tree-sitter || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && [ "$("$candidate" --version 2>/dev/null)" = "tree-sitter $TS_VERSION" ]; then
    TS=$candidate
    break
  fi
done
if [ -z "$TS" ]; then
  log "installing tree-sitter-cli $TS_VERSION (cargo install; a few minutes)"
  t0=$SECONDS
  # Measured here (2 cores): the default release build takes about 8.5 min of CPU;
  # without the default `qjs-rt` feature (grammar.js is then evaluated by Node.js
  # instead of a bundled QuickJS) 6.7 min; with `--debug` as well, 2.6 min. The
  # unoptimised CLI is fast enough for a grammar of this size (generate < 1 s).
  cargo install tree-sitter-cli --version "$TS_VERSION" --locked --no-default-features --debug --quiet
  TS=$CARGO_BIN/tree-sitter
  log "cargo install tree-sitter-cli: $((SECONDS - t0)) s"
fi
log "$("$TS" --version), $(vim --version | head -n 1), node $(node --version)"

# The CLI's own settings and compiled parsers, away from the user's.
export TREE_SITTER_DIR=$WORK/tree-sitter-config
export TREE_SITTER_LIBDIR=$WORK/tree-sitter-lib
mkdir -p "$TREE_SITTER_DIR" "$TREE_SITTER_LIBDIR" "$WORK/no-other-parsers"
echo "{ \"parser-directories\": [\"$WORK/no-other-parsers\"] }" >"$TREE_SITTER_DIR/config.json"
export NO_COLOR=1
log "installs: $((SECONDS - t_start)) s"

# ------------------------------------------------------------------ checks

passed=0
failed=0
failures=()

# Runs one check in a subshell with `set -e` in force; counts it.
check() {
  local name=$1
  shift
  log "--- $name"
  local t0=$SECONDS
  (
    set -euo pipefail
    "$@"
  ) &
  if wait $!; then
    passed=$((passed + 1))
    log "ok ($((SECONDS - t0)) s): $name"
  else
    failed=$((failed + 1))
    failures+=("$name")
    log "FAILED ($((SECONDS - t0)) s): $name"
  fi
}

# Files that pest accepts, and that tree-sitter must parse without ERROR/MISSING nodes.
ok_files() {
  local f
  for f in "$EDITORS"/samples/all_syntax.cascade "$TS_DIR"/test/highlight/*.cascade \
    "$ROOT"/examples/*.cascade "$ROOT"/tests/cases/ok/*.cascade "$WORK/snippets.cascade"; do
    if [ -f "$f" ]; then printf '%s\n' "$f"; fi
  done
}

vscode_grammar() {
  node_modules/.bin/vscode-tmgrammar-test --config vscode/package.json samples/scopes.test.cascade
}

vscode_extension() {
  # Also writes every snippet, expanded with its defaults, for the parse check below.
  node vscode/test/check_extension.js "$WORK/snippets.cascade"
}

vim_syntax_and_indent() {
  # -es: silent Ex mode; the script exits 1 (cquit) on any mismatch, and writes its
  # report to a file (vim's own stdout and stderr are not for messages in -es mode).
  local status=0
  vim -N -u NONE -i NONE -n -es -c "let g:result_file = '$WORK/vim-report'" \
    -S "$EDITORS/vim/test/check_syntax.vim" </dev/null || status=$?
  cat "$WORK/vim-report" 2>/dev/null || log "vim wrote no report"
  return "$status"
}

tree_sitter_generated_parser_is_current() {
  cd "$TS_DIR"
  "$TS" generate --output "$WORK/generated" grammar.js
  local f
  for f in parser.c grammar.json node-types.json tree_sitter/parser.h tree_sitter/array.h tree_sitter/alloc.h; do
    if ! cmp -s "src/$f" "$WORK/generated/$f"; then
      log "editors/tree-sitter-cascade/src/$f is not what grammar.js generates:"
      log "run \`tree-sitter generate\` (tree-sitter-cli $TS_VERSION) in editors/tree-sitter-cascade"
      return 1
    fi
  done
}

tree_sitter_test() {
  cd "$TS_DIR"
  "$TS" test
}

tree_sitter_queries_compile() {
  cd "$TS_DIR"
  local q
  for q in queries/*.scm ../helix/queries/cascade/*.scm ../zed/languages/cascade/*.scm; do
    "$TS" query --quiet "$q" ../samples/all_syntax.cascade >/dev/null || { log "query $q does not compile"; return 1; }
  done
}

tree_sitter_parses_valid_files() {
  cd "$TS_DIR"
  ok_files >"$WORK/ok-files"
  log "$(wc -l <"$WORK/ok-files") files"
  # Exits non-zero and names the file when any tree has an ERROR or MISSING node.
  "$TS" parse --quiet --paths "$WORK/ok-files"
}

tree_sitter_rejects_syntax_errors() {
  cd "$TS_DIR"
  local f out count=0 bad=0
  for f in "$ROOT"/tests/cases/err/syntax_*.cascade; do
    [ -f "$f" ] || continue # no such files yet: nothing to do
    count=$((count + 1))
    if out=$("$TS" parse "$f" 2>&1) || ! grep -qE '\((ERROR|MISSING)' <<<"$out"; then
      log "tree-sitter parses ${f#"$ROOT"/} without an ERROR or MISSING node, but it is a syntax error"
      bad=$((bad + 1))
    fi
  done
  log "$count syntax-error files"
  [ "$bad" = 0 ]
}

check "VS Code grammar: scope assertions (vscode-tmgrammar-test)" vscode_grammar
check "VS Code extension: manifest, language configuration, snippets" vscode_extension
check "Vim: syntax groups, filetype settings, indentation (vim -es)" vim_syntax_and_indent
check "tree-sitter: src/ is generated from grammar.js" tree_sitter_generated_parser_is_current
check "tree-sitter: corpus and highlight tests (tree-sitter test)" tree_sitter_test
check "tree-sitter: queries compile (tree-sitter, Helix, Zed)" tree_sitter_queries_compile
check "tree-sitter: samples, examples, tests/cases/ok, snippets parse without errors" tree_sitter_parses_valid_files
check "tree-sitter: tests/cases/err/syntax_* fail to parse" tree_sitter_rejects_syntax_errors

for f in "${failures[@]+"${failures[@]}"}"; do
  log "FAILED: $f"
done
log "editors: total $((SECONDS - t_start)) s"
log "editors: $passed passed, $failed failed"
[ "$failed" = 0 ]
