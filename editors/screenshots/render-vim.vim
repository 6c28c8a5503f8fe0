" Renders a .cascade file to HTML with editors/vim and a built-in colour scheme:
"   vim -N -u NONE -i NONE -n -es -S render-vim.vim FILE.cascade
" writes FILE.cascade.html beside it; then, e.g.:
"   chromium --headless --screenshot=out.png --window-size=840,540 FILE.cascade.html
let &runtimepath = fnamemodify(expand('<sfile>:p'), ':h:h') . '/vim,' . &runtimepath
filetype plugin indent on
syntax on
filetype detect
set termguicolors background=dark
colorscheme lunaperche
runtime plugin/tohtml.vim
let g:html_no_progress = 1
let g:html_font = ['DejaVu Sans Mono']
TOhtml
write!
qall!
