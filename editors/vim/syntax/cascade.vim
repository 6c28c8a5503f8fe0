" Vim syntax file
" Language:   Cascade (rules-based contagion scenarios, *.cascade)
" Maintainer: the Cascade project (editors/vim)
"
" The authoritative syntax is grammar/cascade.pest. The keyword and built-in lists
" between the BEGIN/END markers are checked by tests/editors.rs against
" cascade::syntax::{KEYWORDS, BUILTIN_FUNCTIONS, BUILTIN_NAMES}.

if exists("b:current_syntax")
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

syn case match
syn iskeyword @,48-57,_

" Names that are not highlighted otherwise.
syn match cascadeIdentifier "\<\h\w*\>" contains=NONE

" Kinds are CapitalCase by convention (`for l in Lessor`).
syn match cascadeType "\<\u\w*\>"

" Built-in names that read the state of the run or of an entity.
" BEGIN BUILTIN_NAMES
syn match cascadeBuiltinName "\<\%(step\|date\|defaulted\|defaulted_at\)\>"
" END BUILTIN_NAMES

" Calls: `name(`. A built-in function there is highlighted as such.
syn match cascadeFunction "\<\h\w*\ze\s*(" contains=cascadeBuiltinFunction
" BEGIN BUILTIN_FUNCTIONS
syn match cascadeBuiltinFunction contained "\<\%(min\|max\|abs\|clamp\|round\|floor\|ceil\|sqrt\|exp\|ln\|log10\|sum\|count\|any\|all\|mean\|exposures_of\|exposures_to\|exposure_losses\|clearing_payment\|clearing_defaulted\|clearing_round\|clearing_shortfall\|distress\|debt_rank\|sign\)\>"
" END BUILTIN_FUNCTIONS

" BEGIN KEYWORDS
syn keyword cascadeDeclaration scenario param var let series kind entity exposure entities exposures from clearing debtrank
syn keyword cascadeStatement   rule when while then for in where priority after at emit default stop expect assert if else together solve
syn keyword cascadeSeriesMode  linear hold
syn keyword cascadeLogical     and or not
syn keyword cascadeBoolean     true false
syn keyword cascadeSelf        self
" END KEYWORDS

" Contextual words: `exposure a -> b = 2bn, recovery 40%`, `after 2 steps EFFECT`,
" and the scenario settings `start = DATE, step = UNIT, horizon = N`.
syn match cascadeContextual "\%(,\s*\)\@<=\<recovery\>\ze\s*\%([0-9$(]\|\h\)"
syn match cascadeContextual "\<steps\=\>\ze\s\+\%(\%(after\|default\|emit\|stop\)\>\|\h\w*\%(\s*\.\s*\h\w*\)\=\s*[-+*/]\==[^=]\)"
syn match cascadeSetting    "\<\%(start\|step\|horizon\)\>\ze\s*=[^=]"
syn match cascadeTimeUnit   "\%(\<step\s*=\s*\)\@<=\<\%(day\|week\|month\|quarter\|year\)\>"

" Declared names: `param NAME`, `var NAME`, `let NAME`, `series NAME`, `kind Name`,
" `entity name: Kind`, `exposure a -> b`, `rule NAME`.
syn match cascadeDeclName   "\%(\<\%(param\|var\|let\|series\)\s\+\)\@<=\h\w*"
syn match cascadeEntityName "\%(\<entity\s\+\)\@<=\h\w*"
syn match cascadeKindName   "\%(\<kind\s\+\)\@<=\h\w*"
syn match cascadeRuleName   "\%(\<rule\s\+\)\@<=\h\w*"

" Field access: `coreweave.cash`.
syn match cascadeField "\%(\.\s*\)\@<=\h\w*"

" Numbers: 3, 1.50, 1_000_000, 1.5bn, 250k, 3m, 2tn, 45%, $1.50. Dates: 2026-01, 2026-01-31.
syn match cascadeNumber "\%(\$\|\<\)\%(\$\)\=\d[0-9_]*\%(\.\d[0-9_]*\)\=\%(%\|\%(bn\|tn\|k\|m\)\>\)\=\w\@!"
syn match cascadeDate   "\<\d\{4}-\d\{2}\%(-\d\{2}\)\=\>"

syn match cascadeOperator "->\|[-+*/]=\|[=!<>]=\|[-+*/^<>=]"
syn match cascadeDelimiter "[,:]"

" Strings with escapes and `{expr}` interpolation. A string ends at the end of its line.
syn region cascadeString matchgroup=cascadeQuote start=+"+ skip=+\\\\\|\\"+ end=+"+ end=+$+ oneline contains=cascadeEscape,cascadeInterpolation,cascadeStringError
syn match  cascadeEscape contained +\\["\\nt{}]+
syn match  cascadeStringError contained +\\[^"\\nt{}]\|}+
syn region cascadeInterpolation contained matchgroup=cascadeInterpolationDelimiter start=+{+ end=+}+ oneline contains=@cascadeExpression

syn cluster cascadeExpression contains=cascadeIdentifier,cascadeType,cascadeBuiltinName,cascadeFunction,cascadeDeclaration,cascadeStatement,cascadeSeriesMode,cascadeLogical,cascadeBoolean,cascadeSelf,cascadeField,cascadeNumber,cascadeDate,cascadeOperator,cascadeDelimiter,cascadeString,cascadeParen

syn region cascadeParen transparent matchgroup=cascadeBracket start=+(+ end=+)+ contains=@cascadeExpression,cascadeComment
syn region cascadeBlock transparent matchgroup=cascadeBracket start=+{+ end=+}+ contains=ALLBUT,cascadeEscape,cascadeStringError,cascadeInterpolation,cascadeBuiltinFunction,cascadeTodo

syn keyword cascadeTodo contained TODO FIXME XXX NOTE
syn match   cascadeComment "#.*$" contains=cascadeTodo,@Spell

hi def link cascadeComment                Comment
hi def link cascadeTodo                   Todo
hi def link cascadeDeclaration            Keyword
hi def link cascadeStatement              Statement
hi def link cascadeSeriesMode             StorageClass
hi def link cascadeLogical                Operator
hi def link cascadeBoolean                Boolean
hi def link cascadeSelf                   Special
hi def link cascadeContextual             Keyword
hi def link cascadeSetting                Identifier
hi def link cascadeTimeUnit               Constant
hi def link cascadeDeclName               Identifier
hi def link cascadeEntityName             Identifier
hi def link cascadeKindName               Type
hi def link cascadeType                   Type
hi def link cascadeRuleName               Function
hi def link cascadeFunction               Function
hi def link cascadeBuiltinFunction        Special
hi def link cascadeBuiltinName            Special
hi def link cascadeField                  Identifier
hi def link cascadeNumber                 Number
hi def link cascadeDate                   Constant
hi def link cascadeOperator               Operator
hi def link cascadeDelimiter              Delimiter
hi def link cascadeBracket                Delimiter
hi def link cascadeString                 String
hi def link cascadeQuote                  String
hi def link cascadeEscape                 SpecialChar
hi def link cascadeStringError            Error
hi def link cascadeInterpolationDelimiter Delimiter

let b:current_syntax = "cascade"

let &cpo = s:cpo_save
unlet s:cpo_save
