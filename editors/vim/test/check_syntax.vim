" Headless check of editors/vim, run by editors/ci.sh as
"   vim -N -u NONE -i NONE -n -es -c "let g:result_file = 'FILE'" -S editors/vim/test/check_syntax.vim
" Opens editors/samples/all_syntax.cascade, checks the syntax group at specific
" positions, the filetype settings and the indentation (re-indenting the sample).
" Writes the failures and a summary to FILE (to stderr without g:result_file) and
" exits 0 when every check passed, 1 otherwise.

set nocompatible
let s:root = fnamemodify(expand('<sfile>:p'), ':h:h:h:h')
let &runtimepath = s:root . '/editors/vim,' . &runtimepath
filetype plugin indent on
syntax on

let s:failures = []
let s:passed = 0

function! s:Fail(msg) abort
  call add(s:failures, a:msg)
endfunction

" [pattern, expected group]: the cursor goes to the first match of the pattern
" (searched from the top; `\zs` marks the position to check).
let s:checks = [
      \ ['\%^\zs#', 'cascadeComment'],
      \ ['^\zsscenario', 'cascadeDeclaration'],
      \ ['^scenario \zs"H100', 'cascadeQuote'],
      \ ['^scenario "\zsH100', 'cascadeString'],
      \ ['^  \zsstart', 'cascadeSetting'],
      \ ['^  start   = \zs2026-01', 'cascadeDate'],
      \ ['^  start   = 2026-0\zs1', 'cascadeDate'],
      \ ['^  step    = \zsmonth', 'cascadeTimeUnit'],
      \ ['^  horizon = \zs48', 'cascadeNumber'],
      \ ['^  start   = 2026-01        \zs# first', 'cascadeComment'],
      \ ['^\zsparam holding_cost', 'cascadeDeclaration'],
      \ ['^param \zsholding_cost', 'cascadeDeclName'],
      \ ['^param holding_cost = \zs3.00', 'cascadeNumber'],
      \ ['^param loss_line    = \zs\$1.50', 'cascadeNumber'],
      \ ['^param loss_line    = $1.5\zs0', 'cascadeNumber'],
      \ ['^param big          = \zs1_000_000', 'cascadeNumber'],
      \ ['^param big          = 1_000_00\zs0', 'cascadeNumber'],
      \ ['^param huge         = 2\zstn', 'cascadeNumber'],
      \ ['^param haircut      = 12.5\zs%', 'cascadeNumber'],
      \ ['^var   started      = \zstrue', 'cascadeBoolean'],
      \ ['^var   halted       = \zsfalse', 'cascadeBoolean'],
      \ ['^let   hourly_loss  = \zsmax', 'cascadeBuiltinFunction'],
      \ ['^let   hourly_loss  = max(0, holding_cost \zs-', 'cascadeOperator'],
      \ ['^let   flag         = \zsnot', 'cascadeLogical'],
      \ ['^let   flag         = not started \zsand', 'cascadeLogical'],
      \ ['^let   cmp          = h100_price \zs<', 'cascadeOperator'],
      \ ['^let   cmp          = .* \zs!=', 'cascadeOperator'],
      \ ['^let   label        = \zs"price', 'cascadeQuote'],
      \ ['^let   label        = "\zsprice', 'cascadeString'],
      \ ['^let   label        = "price is \zs{', 'cascadeInterpolationDelimiter'],
      \ ['^let   label        = "price is {\zsh100_price', 'cascadeIdentifier'],
      \ ['^let   label        = "price is {h100_price\zs}', 'cascadeInterpolationDelimiter'],
      \ ['^let   label        = "price is {h100_price}, \zs\\"', 'cascadeEscape'],
      \ ['^let   label        = .*\zs\\{literal', 'cascadeEscape'],
      \ ['^let   as_of        = \zs2026-06-30', 'cascadeDate'],
      \ ['^let   nested       = round(\zsclamp', 'cascadeBuiltinFunction'],
      \ ['^series renewal_rate = { \zs2026-01', 'cascadeDate'],
      \ ['^series renewal_rate = { 2026-01: \zs100%', 'cascadeNumber'],
      \ ['^series demand \zslinear', 'cascadeSeriesMode'],
      \ ['^series demand linear = { 1: \zs10k', 'cascadeNumber'],
      \ ['^series capex \zshold', 'cascadeSeriesMode'],
      \ ['^series \zscapex', 'cascadeDeclName'],
      \ ['^  2026-07: \zs1.5bn', 'cascadeNumber'],
      \ ['^  2026-07: 1.5b\zsn', 'cascadeNumber'],
      \ ['^\zskind Lessor', 'cascadeDeclaration'],
      \ ['^kind \zsLessor', 'cascadeKindName'],
      \ ['^  \zslet collateral', 'cascadeDeclaration'],
      \ ['^  let \zscollateral', 'cascadeDeclName'],
      \ ['^  let me = \zsself', 'cascadeSelf'],
      \ ['^  let me = self.\zscash', 'cascadeField'],
      \ ['^entity \zscoreweave', 'cascadeEntityName'],
      \ ['^entity coreweave: \zsLessor', 'cascadeType'],
      \ ['^entity coreweave: Lessor { debt = \zs29bn', 'cascadeNumber'],
      \ ['^entity coreweave: .*gpus = \zs250k', 'cascadeNumber'],
      \ ['^  cash = \zs300m', 'cascadeNumber'],
      \ ['^\zsexposure applied', 'cascadeDeclaration'],
      \ ['^exposure applied_digital \zs->', 'cascadeOperator'],
      \ ['^exposure applied_digital -> coreweave = 2bn, \zsrecovery', 'cascadeContextual'],
      \ ['^exposure applied_digital -> coreweave = 2bn, recovery \zs40%', 'cascadeNumber'],
      \ ['^\zswhen h100_price', 'cascadeStatement'],
      \ ['^when h100_price < loss_line \zsthen', 'cascadeStatement'],
      \ ['^when h100_price < loss_line then \zsdefault', 'cascadeStatement'],
      \ ['^\zswhile', 'cascadeStatement'],
      \ ['^  coreweave.cash \zs-=', 'cascadeOperator'],
      \ ['^  coreweave.\zscash', 'cascadeField'],
      \ ['^\zsat 2026-09', 'cascadeStatement'],
      \ ['^at 12 { h100_price \zs\*=', 'cascadeOperator'],
      \ ['^\zsrule margin_call', 'cascadeStatement'],
      \ ['^rule \zsmargin_call', 'cascadeRuleName'],
      \ ['^rule margin_call "LTV clause breached" \zspriority', 'cascadeStatement'],
      \ ['^rule margin_call "LTV clause breached" priority \zs10', 'cascadeNumber'],
      \ ['^rule cascade_down priority \zs-1', 'cascadeOperator'],
      \ ['^  \zsfor l: Lessor when', 'cascadeStatement'],
      \ ['^  for l: \zsLessor when', 'cascadeType'],
      \ ['^  for l: Lessor, s: Supplier \zswhere', 'cascadeStatement'],
      \ ['^    \zsemit "margin', 'cascadeStatement'],
      \ ['^    emit "margin call on \zs{l}', 'cascadeInterpolationDelimiter'],
      \ ['^    emit "margin call on {l}: ltv {l.ltv} \zswhen', 'cascadeString'],
      \ ['^    emit .* when {\zssum', 'cascadeBuiltinFunction'],
      \ ['^    emit .* when {sum(x.debt \zsfor', 'cascadeStatement'],
      \ ['^    emit .* when {sum(x.debt for x \zsin', 'cascadeStatement'],
      \ ['^    emit .* in \zsLessor', 'cascadeType'],
      \ ['^    \zsafter 2 steps', 'cascadeStatement'],
      \ ['^    after 2 \zssteps', 'cascadeContextual'],
      \ ['^    after 1 \zsstep emit', 'cascadeContextual'],
      \ ['^  when \zsexposure_losses', 'cascadeBuiltinFunction'],
      \ ['^rule quiet: when \zsstep', 'cascadeBuiltinName'],
      \ ['^rule quiet: when step > 40 then \zsstop', 'cascadeStatement'],
      \ ['^\zsexpect applied_digital', 'cascadeStatement'],
      \ ['^expect applied_digital.\zsdefaulted_at', 'cascadeField'],
      \ ['^expect applied_digital.defaulted_at == 9           \zs# checked', 'cascadeComment'],
      \ ['^expect coreweave.cash > 0 \zsat', 'cascadeStatement'],
      \ ['^\zsassert sum', 'cascadeStatement'],
      \ ['^assert sum(l.cash for l in Lessor) >= -\zs50bn', 'cascadeNumber'],
      \ ['^assert sum(l.cash for l in Lessor) >= -50bn \zs"sector', 'cascadeQuote'],
      \ ['^assert count(exposures_to(coreweave)) >= 0 and \zsdate', 'cascadeBuiltinName'],
      \ ['^assert count(exposures_to(coreweave)) >= 0 and date >= \zs2026-01', 'cascadeDate'],
      \ ['^assert count(\zsexposures_to', 'cascadeBuiltinFunction'],
      \ ]

execute 'edit ' . fnameescape(s:root . '/editors/samples/all_syntax.cascade')

if &filetype !=# 'cascade'
  call s:Fail('filetype is "' . &filetype . '", expected "cascade" (ftdetect)')
endif
if get(b:, 'current_syntax', '') !=# 'cascade'
  call s:Fail('b:current_syntax is not "cascade" (syntax/cascade.vim did not load)')
endif

for [s:pattern, s:expected] in s:checks
  call cursor(1, 1)
  let s:pos = searchpos(s:pattern, 'cW')
  if s:pos == [0, 0]
    call s:Fail('pattern not found in the sample: ' . s:pattern)
    continue
  endif
  let s:group = synIDattr(synID(s:pos[0], s:pos[1], 1), 'name')
  if s:group !=# s:expected
    call s:Fail(printf('line %d, col %d (%s): expected %s, got "%s"', s:pos[0], s:pos[1], s:pattern, s:expected, s:group))
  else
    let s:passed += 1
  endif
endfor

" ftplugin settings.
for [s:option, s:expected] in [['commentstring', '# %s'], ['shiftwidth', 2], ['expandtab', 1], ['indentexpr', 'GetCascadeIndent()']]
  let s:value = eval('&l:' . s:option)
  if s:value !=# s:expected
    call s:Fail(printf('&%s is "%s", expected "%s"', s:option, s:value, s:expected))
  else
    let s:passed += 1
  endif
endfor

" Indentation: flatten the sample's indentation, re-indent it with =, compare.
let s:before = getline(1, '$')
silent %s/^\s\+//e
silent normal! gg=G
let s:after = getline(1, '$')
for s:i in range(len(s:before))
  if s:before[s:i] !=# s:after[s:i]
    call s:Fail(printf('indent of line %d: expected "%s", got "%s"', s:i + 1, s:before[s:i], s:after[s:i]))
  endif
endfor
if s:before ==# s:after
  let s:passed += 1
endif

let s:out = ['vim: ' . s:passed . ' checks passed, ' . len(s:failures) . ' failed']
call writefile(map(copy(s:failures), '"FAIL: " . v:val') + s:out, get(g:, 'result_file', '/dev/stderr'), 'a')
if empty(s:failures)
  qall!
else
  cquit!
endif
