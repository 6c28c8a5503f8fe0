" Cascade scenario scripts: *.cascade files.
autocmd BufRead,BufNewFile *.cascade setfiletype cascade
