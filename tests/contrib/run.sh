#!/bin/sh
# contrib/: the Emacs mode byte-compiles warning-free, picks .dnn files,
# highlights and re-indents models/lenet5.dnn as written; the Vim syntax
# file loads and highlights the same file. SKIP when an editor is missing.
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
root=$(pwd)

# what each probe (a regexp in lenet5.dnn) is highlighted as
probes='model:Statement conv2d:Op 1e-4:Number |>:Operator adam:Constant batch:Setting #:Comment'

if ! command -v emacs >/dev/null 2>&1; then
    echo "SKIP contrib/emacs: emacs is not installed"
else
    cp contrib/emacs/dnn-mode.el "$tmp/"
    if emacs --batch -Q --eval '(setq byte-compile-error-on-warn t)' -f batch-byte-compile "$tmp/dnn-mode.el" \
        >"$tmp/emacs.out" 2>&1; then
        echo "PASS contrib/emacs byte-compile"
    else
        echo "FAIL contrib/emacs byte-compile: $(grep -m1 -i 'error\|warning' "$tmp/emacs.out")"
    fi
    cat >"$tmp/check.el" <<EOL
(load "$tmp/dnn-mode.el" nil t)
(find-file "$root/models/lenet5.dnn")
(font-lock-ensure)
(defun face-at (re) (goto-char (point-min)) (re-search-forward (regexp-quote re))
  (format "%s" (get-text-property (match-beginning 0) 'face)))
(princ (format "mode %s\n" major-mode))
(dolist (p (split-string "$probes"))
  (let ((re (car (split-string p ":"))))
    (princ (format "%s %s\n" re (face-at re)))))
(let ((text (buffer-string)))
  (indent-region (point-min) (point-max))
  (princ (format "indent %s\n" (if (string= text (buffer-string)) "same" "changed"))))
EOL
    emacs --batch -Q -l "$tmp/check.el" >"$tmp/emacs.faces" 2>/dev/null
    want="mode dnn-mode
model font-lock-keyword-face
conv2d font-lock-function-name-face
1e-4 font-lock-constant-face
|> dnn-operator-face
adam font-lock-constant-face
batch font-lock-builtin-face
# font-lock-comment-delimiter-face
indent same"
    if [ "$(cat "$tmp/emacs.faces")" = "$want" ]; then
        echo "PASS contrib/emacs highlighting and indentation"
    else
        echo "FAIL contrib/emacs highlighting and indentation: got $(tr '\n' ';' <"$tmp/emacs.faces")"
    fi
fi

if ! command -v vim >/dev/null 2>&1; then
    echo "SKIP contrib/vim: vim is not installed"
else
    if vim -es -u NONE -c 'syntax on' -c 'source contrib/vim/syntax/dnn.vim' -c q >"$tmp/vim.err" 2>&1 && [ ! -s "$tmp/vim.err" ]; then
        echo "PASS contrib/vim loads"
    else
        echo "FAIL contrib/vim loads: $(head -1 "$tmp/vim.err")"
    fi
    {
        echo 'syntax on'
        echo 'set rtp^=contrib/vim'
        echo 'runtime ftdetect/dnn.vim'
        echo 'edit models/lenet5.dnn'
        echo "call writefile(['ft ' . &ft], '$tmp/vim.out', 'a')"
        for p in $probes; do
            re=${p%%:*}
            echo "call cursor(1, 1) | call search('\\V$re', 'c')"
            echo "call writefile(['$re ' . synIDattr(synID(line('.'), col('.'), 1), 'name')], '$tmp/vim.out', 'a')"
        done
        # the 0 of a parameter name is part of the name, not a number
        echo "edit $tmp/q.dnn | call cursor(1, 21)"
        echo "call writefile(['features.0 ' . synIDattr(synID(line('.'), col('.'), 1), 'name')], '$tmp/vim.out', 'a')"
        echo 'qa!'
    } >"$tmp/check.vim"
    echo '    freeze features.0.weight;' >"$tmp/q.dnn"
    vim -es -u NONE -N -S "$tmp/check.vim" </dev/null >/dev/null 2>&1
    want="ft dnn"
    for p in $probes; do want="$want;${p%%:*} dnn${p#*:}"; done
    want="$want;features.0 dnnQualified"
    got=$(tr '\n' ';' <"$tmp/vim.out" 2>/dev/null); got=${got%;}
    if [ "$got" = "$want" ]; then
        echo "PASS contrib/vim highlighting"
    else
        echo "FAIL contrib/vim highlighting: got '$got', want '$want'"
    fi
fi
