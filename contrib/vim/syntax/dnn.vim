" Vim syntax file
" Language: dnnc's .dnn neural-network language (see docs/language.md)
" The op names are the callable rows of compiler/ops.def.

if exists("b:current_syntax")
  finish
endif

syn keyword dnnStatement  model input target param output loss freeze train
syn keyword dnnSetting    optimizer schedule batch epochs seed shuffle init validation
syn keyword dnnSetting    early_stop clip_grad_norm average
syn keyword dnnSetting    augment
syn keyword dnnOp         dense conv2d batchnorm prelu maxout
syn keyword dnnOp         relu relu6 sigmoid tanh leaky_relu elu step exp log sqrt abs sin cos square
syn keyword dnnOp         softmax log_softmax maxpool avgpool global_avgpool dropout flatten reshape transpose concat
syn keyword dnnOp         sum mean l2 l1
syn keyword dnnOp         mse l1_loss huber bce bce_with_logits cross_entropy nll hinge multi_margin
syn keyword dnnConstant   sgd adam adamw adagrad rmsprop exponential inverse_time ema
syn keyword dnnConstant   pytorch xavier xavier_uniform he he_uniform uniform normal zeros ones constant
syn keyword dnnConstant   class weights params true false
syn keyword dnnConstant   noise hflip crop rotate

" parameter names like features.0.weight: one name, no numbers inside
syn match   dnnQualified  "\<\h\w*\%(\.\%(\h\w*\|\d\+\)\)\+"
syn match   dnnNumber     "\<\d\+\%(\.\d*\)\=\%([eE][+-]\=\d\+\)\="
syn match   dnnNumber     "\.\d\+\%([eE][+-]\=\d\+\)\="
syn match   dnnOperator   "|>\|@"
syn region  dnnString     start=+"+ skip=+\\.+ end=+"+ oneline
syn match   dnnComment    "\%(#\|//\).*$" contains=dnnTodo,@Spell
syn keyword dnnTodo       contained TODO FIXME XXX NOTE

hi def link dnnStatement  Statement
hi def link dnnSetting    Keyword
hi def link dnnOp         Function
hi def link dnnConstant   Constant
hi def link dnnNumber     Number
hi def link dnnOperator   Operator
hi def link dnnString     String
hi def link dnnComment    Comment
hi def link dnnTodo       Todo

let b:current_syntax = "dnn"
