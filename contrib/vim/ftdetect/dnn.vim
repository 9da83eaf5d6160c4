" .dnn files are dnnc's neural-network language
autocmd BufRead,BufNewFile *.dnn setfiletype dnn
