#!/usr/bin/env node
// Checks the VS Code extension in editors/vscode beyond its grammar (which
// vscode-tmgrammar-test checks): the manifest's wiring, the language configuration
// (comments, brackets, auto-closing pairs, indentation rules) and the snippets.
// With an argument, writes every snippet expanded with its default values to that
// file, so that editors/ci.sh can parse them with tree-sitter.
// Prints `vscode extension: N passed, M failed` and exits 1 on any failure.
'use strict';
const fs = require('fs');
const path = require('path');

const dir = path.join(__dirname, '..');
let passed = 0;
const failures = [];
function check(ok, what) {
  if (ok) passed++;
  else failures.push(what);
}
function readJson(file) {
  return JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
}

// --- package.json
const manifest = readJson('package.json');
const languages = (manifest.contributes && manifest.contributes.languages) || [];
const language = languages.find((l) => l.id === 'cascade');
check(language, 'package.json contributes the language "cascade"');
check(language && language.extensions.includes('.cascade'), 'the language claims the extension .cascade');
check(language && fs.existsSync(path.join(dir, language.configuration)), 'the language configuration file exists');
const grammar = manifest.contributes.grammars.find((g) => g.language === 'cascade');
check(grammar && fs.existsSync(path.join(dir, grammar.path)), 'the grammar file exists');
const tm = readJson(grammar.path);
check(tm.scopeName === grammar.scopeName && tm.scopeName === 'source.cascade',
  'the grammar scope is source.cascade in package.json and in the grammar');
const snippetsEntry = manifest.contributes.snippets.find((s) => s.language === 'cascade');
check(snippetsEntry && fs.existsSync(path.join(dir, snippetsEntry.path)), 'the snippets file exists');

// --- language-configuration.json
const config = readJson(language.configuration);
check(config.comments && config.comments.lineComment === '#', 'line comments are #');
const brackets = JSON.stringify(config.brackets);
check(brackets.includes('["{","}"]') && brackets.includes('["(",")"]'), 'brackets {} and ()');
for (const open of ['{', '(', '"']) {
  check(config.autoClosingPairs.some((p) => p.open === open), `auto-closing pair for ${open}`);
}
const increase = new RegExp(config.indentationRules.increaseIndentPattern);
const decrease = new RegExp(config.indentationRules.decreaseIndentPattern);
for (const line of ['kind Lessor {', 'scenario "H100" {   # settings', '  for l: Lessor when l.ltv > 80% {',
  'let x = max(', 'emit "a {b}" {']) {
  check(increase.test(line), `increaseIndentPattern matches: ${line}`);
}
for (const line of ['at 12 { x = 1 }', '# a comment {', 'emit "text {"', 'param x = 1', 'let s = "{x}"']) {
  check(!increase.test(line), `increaseIndentPattern does not match: ${line}`);
}
for (const line of ['}', '  }', ')']) check(decrease.test(line), `decreaseIndentPattern matches: ${line}`);
check(!decrease.test('  x = 1'), 'decreaseIndentPattern does not match an assignment');
const onEnter = config.onEnterRules.map((r) => ({ before: new RegExp(r.beforeText), rule: r }));
const indentAfter = (line) => onEnter.some((r) => r.before.test(line) && r.rule.action.indent === 'indent');
for (const line of ['while h100_price < holding_cost then', 'rule margin_call "LTV clause breached" priority 10:',
  'when x then   # comment']) {
  check(indentAfter(line), `Enter indents after: ${line}`);
}
for (const line of ['when x then stop', 'param x = 1']) check(!indentAfter(line), `Enter does not indent after: ${line}`);

// --- snippets
const snippets = readJson(snippetsEntry.path);
for (const prefix of ['rule', 'entity', 'kind', 'scenario']) {
  check(Object.values(snippets).some((s) => s.prefix === prefix), `a snippet with the prefix "${prefix}"`);
}

// Expands a snippet body (TextMate snippet syntax) with its default values.
function expand(text) {
  const values = new Map();
  function parse(s, i, stop, out) {
    while (i < s.length) {
      const c = s[i];
      if (stop && c === '}') return [i + 1, out];
      if (c === '\\' && i + 1 < s.length) { out.push(s[i + 1]); i += 2; continue; }
      if (c === '$') {
        let m = /^\$(\d+)/.exec(s.slice(i)) || /^\$\{(\d+)\}/.exec(s.slice(i));
        if (m) { out.push({ ref: m[1] }); i += m[0].length; continue; }
        m = /^\$\{(\d+)\|([^|]*)\|\}/.exec(s.slice(i));
        if (m) {
          const first = m[2].split(',')[0];
          if (!values.has(m[1])) values.set(m[1], [first]);
          out.push({ ref: m[1] }); i += m[0].length; continue;
        }
        m = /^\$\{(\d+):/.exec(s.slice(i));
        if (m) {
          const [next, inner] = parse(s, i + m[0].length, true, []);
          if (!values.has(m[1])) values.set(m[1], inner);
          out.push({ ref: m[1] }); i = next; continue;
        }
      }
      out.push(c); i++;
    }
    return [i, out];
  }
  const [, parts] = parse(text, 0, false, []);
  const render = (ps, depth) => ps.map((p) => (typeof p === 'string' ? p
    : depth > 10 ? '' : render(values.get(p.ref) || [], depth + 1))).join('');
  return render(parts, 0);
}
let expanded = '';
for (const [name, snippet] of Object.entries(snippets)) {
  const body = Array.isArray(snippet.body) ? snippet.body.join('\n') : snippet.body;
  check(typeof snippet.prefix === 'string' && snippet.description, `snippet "${name}" has a prefix and a description`);
  expanded += `# snippet ${name}\n${expand(body).replace(/\t/g, '  ')}\n`;
}
if (process.argv[2]) fs.writeFileSync(process.argv[2], expanded);

for (const f of failures) console.error(`FAIL: ${f}`);
console.log(`vscode extension: ${passed} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
