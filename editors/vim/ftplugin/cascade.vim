" Vim filetype plugin
" Language: Cascade (*.cascade)

if exists("b:did_ftplugin")
  finish
endif
let b:did_ftplugin = 1

" `#` comments: `gcc` (Vim 9.1 / Neovim), vim-commentary and `gq` use these.
setlocal commentstring=#\ %s
setlocal comments=:#
setlocal formatoptions-=t formatoptions+=croql

" Two spaces, as in the examples.
setlocal expandtab shiftwidth=2 softtabstop=2

setlocal suffixesadd=.cascade
setlocal iskeyword=@,48-57,_

" `%` jumps between the brackets of the language.
setlocal matchpairs=(:),{:}

let b:undo_ftplugin = "setlocal commentstring< comments< formatoptions< expandtab<"
      \ . " shiftwidth< softtabstop< suffixesadd< iskeyword< matchpairs<"
