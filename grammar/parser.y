/* parser.y — the .dnn grammar (pure bison parser with locations).
 *
 * Actions only build AST nodes (ast.c); meaning is given by lower.c.
 * `error` rules at statement boundaries let one mistake be reported without
 * hiding the next. Precedence, loosest first: |>, + -, * /, @, unary -.
 */
%define api.pure full
%define api.location.type {Loc}
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%param {void *scanner}
%parse-param {struct ParseState *ps}

%code requires {
#include "dnnc.h"
struct ParseState { Node *models; };
struct LexState {
    int line, col;              /* where the scanner is */
    int end_line, end_col;      /* the last byte of the last token or comment */
    int nesting;                /* open brackets in this statement */
    int minuses;                /* unary minuses in a row */
    bool deep;                  /* nesting past MAX_NESTING was reported */
    int prev;                   /* the last token returned */
    int model_line;             /* the last 'model' keyword and its name, for notes */
    const char *model_name;
    int outer_line;             /* the one before it */
    const char *outer_name;
};
}

%union {
    Node *node;
    char *str;
    struct { double value; const char *text; } num;
}

%code {
#include "lexer.h"
static void yyerror(YYLTYPE *loc, void *scanner, struct ParseState *ps, const char *msg);
static Node *leaf(NodeKind k, Loc loc, const char *name) { Node *n = new_node(k, loc); n->name = name; return n; }
static Node *binop(int op, Loc loc, Node *a, Node *b);
static Node *call(Loc loc, const char *name, Node *args);
}

%token END 0 "end of file"
%token MODEL "'model'" INPUT "'input'" TARGET "'target'" PARAM "'param'"
%token OUTPUT "'output'" LOSS "'loss'" FREEZE "'freeze'" TRAIN "'train'"
%token PIPE "'|>'"
%token <str> IDENT "identifier" QNAME "qualified name" PATTERN "pattern" STRING "string"
%token <num> NUM "number"

%type <node> models model stmts stmt dims exprs expr primary call stage args arg names name
%type <node> settings setting value

%precedence PIPE
%left '+' '-'
%left '*' '/'
%left '@'
%precedence NEG

%%

file:
    %empty          { ps->models = NULL; }
  | models          { ps->models = $1; }
  ;

models:
    model           { $$ = $1; }
  | models model    { $$ = append($1, $2); }
  ;

/* model: 'model' IDENT '{' stmt* '}' */
model:
    MODEL IDENT '{' stmts '}'   { $$ = leaf(N_MODEL, @2, $2); $$->list = $4; }
  | MODEL IDENT '{' stmts error '}' { $$ = leaf(N_MODEL, @2, $2); $$->list = $4; yyerrok; }
  | MODEL error '}'             { $$ = leaf(N_MODEL, @1, NULL); }
  ;

stmts:
    %empty          { $$ = NULL; }
  | stmts stmt      { $$ = $2 ? append($1, $2) : $1; }
  ;

stmt:
    INPUT IDENT dims ';'               { $$ = leaf(N_INPUT, @2, $2); $$->a = $3; }
  | TARGET IDENT dims ';'              { $$ = leaf(N_TARGET, @2, $2); $$->a = $3; }
  | TARGET IDENT ':' call ';'          { $$ = leaf(N_TARGET, @2, $2); $$->b = $4; }
  | PARAM IDENT dims ';'               { $$ = leaf(N_PARAM, @2, $2); $$->a = $3; }
  | PARAM IDENT dims '=' expr ';'      { $$ = leaf(N_PARAM, @2, $2); $$->a = $3; $$->b = $5; }
  | IDENT '=' expr ';'                 { $$ = leaf(N_ASSIGN, @1, $1); $$->a = $3; }
  | OUTPUT IDENT ';'                   { $$ = leaf(N_OUTPUT, @2, $2); }
  | OUTPUT IDENT '=' expr ';'          { $$ = leaf(N_OUTPUT, @2, $2); $$->a = $4; }
  | LOSS expr ';'                      { $$ = leaf(N_LOSS, @1, NULL); $$->a = $2; }
  | FREEZE names ';'                   { $$ = leaf(N_FREEZE, @1, NULL); $$->list = $2; }
  | TRAIN '{' settings '}'             { $$ = leaf(N_TRAIN, @1, NULL); $$->list = $3; }
  | TRAIN '{' settings error '}'       { $$ = leaf(N_TRAIN, @1, NULL); $$->list = $3; yyerrok; }
  | error ';'                          { $$ = NULL; yyerrok; }
  ;

dims:
    '[' exprs ']'   { $$ = leaf(N_LIST, @1, NULL); $$->list = $2; }
  | '[' ']'         { $$ = leaf(N_LIST, @1, NULL); }
  ;

/* freeze's names: layers (fc1), parameters (fc1.weight) or patterns (features.*) */
names:
    name                { $$ = $1; }
  | names ',' name      { $$ = append($1, $3); }
  ;

name:
    IDENT               { $$ = leaf(N_NAME, @1, $1); }
  | QNAME               { $$ = leaf(N_NAME, @1, $1); }
  | PATTERN             { $$ = leaf(N_NAME, @1, $1); }
  ;

/* setting: IDENT value ';' | IDENT '(' args ')' ';' | IDENT IDENT ':' value ';'
 * — e.g. `batch 32;`, `optimizer adam(lr = 1e-3);`, `early_stop(patience = 3);`,
 * `augment image: hflip(p = 0.5);` (b names what the setting applies to) */
settings:
    %empty              { $$ = NULL; }
  | settings setting    { $$ = $2 ? append($1, $2) : $1; }
  ;

setting:
    IDENT value ';'             { $$ = leaf(N_SETTING, @1, $1); $$->a = $2; }
  | call ';'                    { $$ = leaf(N_SETTING, $1->loc, $1->name); $$->a = $1; }
  | IDENT IDENT ':' value ';'   { $$ = leaf(N_SETTING, @1, $1); $$->a = $4; $$->b = leaf(N_NAME, @2, $2); }
  | error ';'                   { $$ = NULL; yyerrok; }
  ;

value:
    NUM             { $$ = leaf(N_NUM, @1, NULL); $$->num = $1.value; $$->text = $1.text; }
  | '-' NUM         { $$ = leaf(N_NUM, @1, NULL); $$->num = -$2.value; $$->text = $2.text; }
  | IDENT           { $$ = leaf(N_NAME, @1, $1); }
  | STRING          { $$ = leaf(N_STRING, @1, $1); }
  | call            { $$ = $1; }
  ;

exprs:
    expr                { $$ = $1; }
  | exprs ',' expr      { $$ = append($1, $3); }
  ;

expr:
    primary                 { $$ = $1; }
  | expr PIPE stage         { $$ = binop(PIPE, @2, $1, $3); $$->kind = N_PIPE; }
  | expr '+' expr           { $$ = binop('+', @2, $1, $3); }
  | expr '-' expr           { $$ = binop('-', @2, $1, $3); }
  | expr '*' expr           { $$ = binop('*', @2, $1, $3); }
  | expr '/' expr           { $$ = binop('/', @2, $1, $3); }
  | expr '@' expr           { $$ = binop('@', @2, $1, $3); }
  | '-' expr %prec NEG      { $$ = binop('-', @1, $2, NULL); $$->kind = N_NEG; }
  ;

/* A pipe stage: a function name or a call missing its first argument. */
stage:
    IDENT           { $$ = call(@1, $1, NULL); }
  | call            { $$ = $1; }
  ;

primary:
    NUM             { $$ = leaf(N_NUM, @1, NULL); $$->num = $1.value; $$->text = $1.text; }
  | IDENT           { $$ = leaf(N_NAME, @1, $1); }
  | QNAME           { $$ = leaf(N_NAME, @1, $1); } /* a parameter, for l1() and l2() */
  | STRING          { $$ = leaf(N_STRING, @1, $1); }
  | call            { $$ = $1; }
  | '(' expr ')'    { $$ = $2; }
  | '[' exprs ']'   { $$ = leaf(N_LIST, @1, NULL); $$->list = $2; }
  ;

call:
    IDENT '(' ')'       { $$ = call(@1, $1, NULL); }
  | IDENT '(' args ')'  { $$ = call(@1, $1, $3); }
  ;

args:
    arg             { $$ = $1; }
  | args ',' arg    { $$ = append($1, $3); }
  ;

arg:
    expr                { $$ = $1; }
  | IDENT '=' expr      { $$ = leaf(N_KWARG, @1, $1); $$->a = $3; }
  ;

%%

static int depth_of(const Node *n) { return n ? n->depth : 0; }

static Node *binop(int op, Loc loc, Node *a, Node *b) {
    Node *n = new_node(N_BINOP, loc);
    n->op = op;
    n->a = a;
    n->b = b;
    /* only real nesting counts (unary minus here, brackets and calls
     * elsewhere): a left-associative chain a + b + c ... is flat */
    n->depth = (b ? 0 : 1) + (depth_of(a) > depth_of(b) ? depth_of(a) : depth_of(b));
    return n;
}

static Node *call(Loc loc, const char *name, Node *args) {
    Node *n = new_node(N_CALL, loc);
    n->name = name;
    n->list = args;
    for (Node *a = args; a; a = a->next)
        if (a->depth + 1 > n->depth)
            n->depth = a->depth + 1;
    return n;
}

/* A token's name for messages: bison's alias without its double quotes. */
static const char *token_name(yysymbol_kind_t sym) {
    const char *name = yysymbol_name(sym);
    size_t len = strlen(name);
    if (len >= 2 && name[0] == '"' && name[len - 1] == '"')
        return arena_printf("%.*s", (int)len - 2, name + 1);
    return name;
}

static bool is_keyword(yysymbol_kind_t sym) {
    return sym == YYSYMBOL_MODEL || sym == YYSYMBOL_INPUT || sym == YYSYMBOL_TARGET || sym == YYSYMBOL_PARAM ||
           sym == YYSYMBOL_OUTPUT || sym == YYSYMBOL_LOSS || sym == YYSYMBOL_FREEZE || sym == YYSYMBOL_TRAIN;
}

/* Syntax errors read "expected X before Y", with Y as written in the
 * source; a missing ';' is reported at the token after it, or just past
 * the last token at the end of the file. */
static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, struct ParseState *ps) {
    (void)ps;
    if (too_many_errors())
        return 0;
    const struct LexState *lex = yyget_extra(scanner);
    Loc loc = *yypcontext_location(ctx);
    yysymbol_kind_t got = yypcontext_token(ctx), want[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, want, YYNTOKENS);
    const char *text = got == YYSYMBOL_YYEOF ? NULL : source_text(loc);
    const char *before = got == YYSYMBOL_YYEOF ? "end of file"
                       : text ? arena_printf("'%s'", text) : token_name(got);
    bool semicolon = false, paren = false, bracket = false, brace = false, expr = false, ident = false,
         model = false;
    for (int i = 0; i < n; i++) {
        const char *name = yysymbol_name(want[i]);
        semicolon |= !strcmp(name, "';'");
        paren |= !strcmp(name, "')'");
        bracket |= !strcmp(name, "']'");
        brace |= !strcmp(name, "'}'");
        expr |= want[i] == YYSYMBOL_NUM;
        ident |= want[i] == YYSYMBOL_IDENT;
        model |= want[i] == YYSYMBOL_MODEL;
    }
    if (semicolon) {
        error_at(loc, "expected ';' before %s", before);
        note("each statement ends with ';'");
    } else if (paren || bracket) {
        error_at(loc, "expected '%c' before %s", paren ? ')' : ']', before);
    } else if (brace && (got == YYSYMBOL_YYEOF || got == YYSYMBOL_MODEL)) {
        error_at(loc, "expected '}' before %s", before);
        /* the lookahead 'model' already opened the next one */
        int line = got == YYSYMBOL_MODEL ? lex->outer_line : lex->model_line;
        const char *name = got == YYSYMBOL_MODEL ? lex->outer_name : lex->model_name;
        if (line && name)
            note("model '%s' starts at line %d", name, line);
    } else if (expr) {
        error_at(loc, "expected an expression before %s", before);
    } else if (n > 0 && n <= 4) {
        char list[256] = "";
        for (int i = 0; i < n; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ",
                     token_name(want[i]));
        error_at(loc, "expected %s before %s", list, before);
    } else
        error_at(loc, "unexpected %s", before);
    if (ident && is_keyword(got) && text && !(brace && got == YYSYMBOL_MODEL))
        note("'%s' is a keyword and cannot be used as a name", text);
    else if (model && (got == YYSYMBOL_IDENT || (is_keyword(got) && got != YYSYMBOL_MODEL)))
        note("declarations and statements go inside 'model NAME { ... }'");
    return 0;
}

static void yyerror(YYLTYPE *loc, void *scanner, struct ParseState *ps, const char *msg) {
    (void)scanner; (void)ps;
    if (too_many_errors())
        return;
    if (strstr(msg, "exhausted"))
        error_at(*loc, "expression nested too deeply (the limit is %d levels)", MAX_NESTING);
    else
        error_at(*loc, "%s", msg);
}

Node *parse_source(const Source *src) {
    yyscan_t scanner;
    struct LexState lex = {.line = 1, .col = 1};
    struct ParseState ps = {NULL};
    if (yylex_init_extra(&lex, &scanner))
        ICE("cannot start the scanner");
    YY_BUFFER_STATE buf = yy_scan_bytes(src->text, (int)src->len, scanner);
    yyparse(scanner, &ps);
    yy_delete_buffer(buf, scanner);
    yylex_destroy(scanner);
    return ps.models;
}
