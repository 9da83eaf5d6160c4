# A compact view of generated C for review: everything outside functions as
# it is, each function's signature, and the body of every function of the
# API (not static) and of every static function of at most 12 lines; longer
# static functions (kernels) show their length only.
function flush(   i) {
    if (api || nbody <= 12)
        for (i = 1; i <= nbody; i++) print body[i]
    else
        print "    /* " nbody " lines */"
    print "}"
    infn = 0
}
infn && /^}/ { flush(); next }
infn { body[++nbody] = $0; next }
/^[A-Za-z].*\) *\{$/ { print; infn = 1; nbody = 0; api = $0 !~ /^static/; next }
/^$/ { next }
{ print }
