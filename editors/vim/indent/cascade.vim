" Vim indent file
" Language: Cascade (*.cascade)
"
" One level inside `{ }` and `( )`; one level for the effect after a trailing `then`
" and for the lines after a rule header (`rule name "description" priority 10:`);
" a closing bracket lines up with the line of its opening bracket, and the line after a
" finished rule goes back to where the rule began.

if exists("b:did_indent")
  finish
endif
let b:did_indent = 1

setlocal indentexpr=GetCascadeIndent()
setlocal indentkeys=0{,0},0),!^F,o,O,e
setlocal autoindent

let b:undo_indent = "setlocal indentexpr< indentkeys< autoindent<"

if exists("*GetCascadeIndent")
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

" The code of a line without strings and comments.
function! s:Code(lnum) abort
  let line = substitute(getline(a:lnum), '"\%([^"\\]\|\\.\)*"', '""', 'g')
  return substitute(line, '#.*$', '', '')
endfunction

" Does the line leave its statement open for the next line?
" `... then`, a rule header `rule NAME ...:`, or binders `for x: K ...` with no trigger.
function! s:Continues(lnum) abort
  let code = s:Code(a:lnum)
  return code =~# '\<then\s*$'
        \ || code =~# '^\s*rule\>.*:\s*$'
        \ || (code =~# '^\s*for\>' && code !~# '\<\%(when\|while\|at\)\>' && code !~# '[{(]\s*$')
endfunction

" The first line of the statement that line lnum is part of.
function! s:StatementStart(lnum) abort
  let lnum = a:lnum
  while 1
    let prev = prevnonblank(lnum - 1)
    if prev == 0 || !s:Continues(prev)
      return lnum
    endif
    let lnum = prev
  endwhile
endfunction

function! s:SkipSyntax() abort
  return synIDattr(synID(line('.'), col('.'), 0), 'name') =~# 'String\|Quote\|Interpolation\|Escape\|Comment'
endfunction

" The line of the bracket that the first closing bracket of line lnum closes.
function! s:OpeningLine(lnum) abort
  let code = s:Code(a:lnum)
  let col = match(code, '[})]') + 1
  if col == 0
    return a:lnum
  endif
  let close = code[col - 1]
  let open = close ==# '}' ? '{' : '('
  let save = getcurpos()
  call cursor(a:lnum, col)
  let lnum = searchpair('\V' . open, '', '\V' . close, 'bnW', 's:SkipSyntax()')
  call setpos('.', save)
  return lnum > 0 ? lnum : a:lnum
endfunction

function! GetCascadeIndent() abort
  let sw = shiftwidth()
  " A closing bracket: the indent of the line of its opening bracket.
  if getline(v:lnum) =~# '^\s*[})]'
    return indent(s:OpeningLine(v:lnum))
  endif
  let prev = prevnonblank(v:lnum - 1)
  if prev == 0
    return 0
  endif
  let code = s:Code(prev)
  if code =~# '[{(]\s*$'
    return indent(prev) + sw
  endif
  if s:Continues(prev)
    " Binders continue on the same level (`for x: K` then `when ...`).
    return s:Code(prev) =~# '^\s*for\>' ? indent(prev) : indent(prev) + sw
  endif
  " After a closing bracket: back to where the statement of its opening bracket began.
  if code =~# '^\s*[})]'
    return indent(s:StatementStart(s:OpeningLine(prev)))
  endif
  return indent(s:StatementStart(prev))
endfunction

let &cpo = s:cpo_save
unlet s:cpo_save
