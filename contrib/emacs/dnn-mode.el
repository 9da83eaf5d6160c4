;;; dnn-mode.el --- Major mode for dnnc's .dnn neural-network language -*- lexical-binding: t -*-

;; Keywords: languages
;; Package-Requires: ((emacs "24.3"))

;;; Commentary:

;; Font-lock, comments (`#' and `//') and brace indentation for the .dnn
;; language of dnnc (see docs/language.md).  The op names are the callable
;; rows of compiler/ops.def.  Install: see contrib/README.md.

;;; Code:

(require 'rx)

(defgroup dnn nil
  "Major mode for .dnn network descriptions."
  :group 'languages)

(defcustom dnn-indent-offset 4
  "Indentation of one level of braces, and of a `|>' continuation line."
  :type 'integer
  :safe #'integerp)

(defconst dnn-statements
  '("model" "input" "target" "param" "output" "loss" "freeze" "train"))

(defconst dnn-settings
  '("optimizer" "schedule" "batch" "epochs" "seed" "shuffle" "init" "validation"
    "early_stop" "clip_grad_norm" "average"
    "augment"))

(defconst dnn-ops
  '("dense" "conv2d" "batchnorm" "prelu" "maxout"
    "relu" "relu6" "sigmoid" "tanh" "leaky_relu" "elu" "step" "exp" "log" "sqrt" "abs"
    "sin" "cos" "square"
    "softmax" "log_softmax" "maxpool" "avgpool" "global_avgpool" "dropout" "flatten" "reshape"
    "transpose" "concat" "sum" "mean" "l2" "l1"
    "mse" "l1_loss" "huber" "bce" "bce_with_logits" "cross_entropy" "nll" "hinge"
    "multi_margin"))

(defconst dnn-constants
  '("sgd" "adam" "adamw" "adagrad" "rmsprop" "exponential" "inverse_time" "ema"
    "pytorch" "xavier" "xavier_uniform" "he" "he_uniform" "uniform" "normal"
    "zeros" "ones" "constant" "class" "weights" "params" "true" "false"
    "noise" "hflip" "crop" "rotate"))

(defface dnn-operator-face '((t :inherit font-lock-keyword-face))
  "Face for the `|>' and `@' operators.")

(defconst dnn-font-lock-keywords
  `((,(rx symbol-start "model" (+ space) (group (any alpha ?_) (* (any alnum ?_))))
     1 font-lock-function-name-face)
    (,(rx symbol-start (or "input" "target" "param") (+ space)
          (group (any alpha ?_) (* (any alnum ?_))))
     1 font-lock-variable-name-face)
    (,(rx line-start (* space) (group (any alpha ?_) (* (any alnum ?_))) (* space) "=" (not (any ?=)))
     1 font-lock-variable-name-face)
    (,(regexp-opt dnn-statements 'symbols) . font-lock-keyword-face)
    (,(regexp-opt dnn-settings 'symbols) . font-lock-builtin-face)
    (,(regexp-opt dnn-ops 'symbols) . font-lock-function-name-face)
    (,(regexp-opt dnn-constants 'symbols) . font-lock-constant-face)
    ;; a number, but not the 0 of a parameter name like features.0.weight
    (,(rx (or line-start (not (any alnum ?_ ?.)))
          (group (or (seq (+ digit) (? "." (* digit))) (seq "." (+ digit)))
                 (? (any "eE") (? (any "+-")) (+ digit))))
     1 font-lock-constant-face)
    (,(rx (or "|>" "@")) . 'dnn-operator-face))
  "Highlighting for `dnn-mode'.")

(defvar dnn-mode-syntax-table
  (let ((st (make-syntax-table)))
    (modify-syntax-entry ?# "<" st)     ; # comment
    (modify-syntax-entry ?/ ". 12" st)  ; // comment
    (modify-syntax-entry ?\n ">" st)
    (modify-syntax-entry ?_ "_" st)
    (modify-syntax-entry ?. "." st)
    (modify-syntax-entry ?\" "\"" st)
    (modify-syntax-entry ?| "." st)
    (modify-syntax-entry ?@ "." st)
    st)
  "Syntax table for `dnn-mode'.")

(defun dnn-indent-line ()
  "Indent the current line by brace depth; `|>' continuations one level more."
  (interactive)
  (let* ((depth (save-excursion (car (syntax-ppss (line-beginning-position)))))
         (column
          (save-excursion
            (back-to-indentation)
            (cond ((looking-at-p "}") (* dnn-indent-offset (max 0 (1- depth))))
                  ((looking-at-p "|>") (* dnn-indent-offset (1+ depth)))
                  (t (* dnn-indent-offset depth))))))
    (if (<= (current-column) (current-indentation))
        (indent-line-to column)
      (save-excursion (indent-line-to column)))))

;;;###autoload
(define-derived-mode dnn-mode prog-mode "DNN"
  "Major mode for dnnc's .dnn neural-network language."
  :syntax-table dnn-mode-syntax-table
  (setq-local comment-start "# ")
  (setq-local comment-start-skip "\\(?:#\\|//\\)+\\s-*")
  (setq-local comment-end "")
  (setq-local font-lock-defaults '(dnn-font-lock-keywords))
  (setq-local indent-line-function #'dnn-indent-line)
  (setq-local electric-indent-chars (cons ?} electric-indent-chars)))

;;;###autoload
(add-to-list 'auto-mode-alist '("\\.dnn\\'" . dnn-mode))

(provide 'dnn-mode)

;;; dnn-mode.el ends here
