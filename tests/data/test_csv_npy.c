/* test_csv_npy.c — tests of the CSV reader and the .npy reader and writer
 * (runtime/data/dnn_csv.c, dnn_npy.c).
 *
 * Each test writes the files it needs into the scratch directory (it works
 * there, so messages carry short names like "iris.csv:17: ..." and are
 * compared whole), reads them back and checks the values, or for a bad file
 * the DNN_E* code and the exact message. .npy files are written byte by
 * byte, so nothing here needs Python; when run.sh could make files with
 * NumPy it passes their directory and they are checked too.
 * Usage: test_csv_npy SCRATCH-DIR [NUMPY-DIR|-] [--no-timing]
 * prints PASS/FAIL/SKIP data.NAME.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dnn_data.h"

#define CHECK_SUITE "data"
#include "../check.h"

static char msg[512]; /* the message of the last call */

/* The directory "adir", which reading must refuse. */
static int mkdir_ok(void) { return mkdir("adir", 0777) == 0 || access("adir", F_OK) == 0; }

/* Writes len bytes to name (in the scratch directory, the working one). */
static const char *put(const char *name, const void *bytes, size_t len) {
    FILE *f = fopen(name, "wb");
    CHECK(f && fwrite(bytes, 1, len, f) == len && fclose(f) == 0);
    return name;
}
static const char *put_text(const char *name, const char *text) { return put(name, text, strlen(text)); }

/* ---- CSV: good files --------------------------------------------------------- */
static const char *iris_rows[] = {
    "5.1,3.5,1.4,0.2,setosa",    "4.9,3.0,1.4,0.2,setosa",     "7.0,3.2,4.7,1.4,versicolor",
    "6.4,3.2,4.5,1.5,versicolor", "6.3,3.3,6.0,2.5,virginica", "5.8,2.7,5.1,1.9,virginica",
};

/* Iris rows (one line each), with a header line first when header is set,
 * bad_line (counting from 1, header included) replaced by bad. */
static const char *put_iris(const char *name, int header, int rows, int bad_line, const char *bad) {
    static char text[1 << 16];
    size_t n = 0;
    int line = 1;
    if (header)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\n",
                              line++ == bad_line ? bad : "sepal_length,sepal_width,petal_length,petal_width,species");
    for (int i = 0; i < rows; i++, line++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\n", line == bad_line ? bad : iris_rows[i % 6]);
    return put(name, text, n);
}

static int near(float a, double b) { return fabs(a - b) < 1e-6; }

static void csv_iris_header(void) {
    dnn_csv c;
    CHECK(dnn_csv_read(put_iris("iris.csv", 1, 6, 0, NULL), &c, msg, sizeof msg) == DNN_OK);
    CHECK(msg[0] == 0);
    CHECK(c.rows == 6 && c.cols == 5 && c.header && c.data && c.levels && c.nlevels && c.line);
    if (!c.header || !c.data || !c.levels || !c.nlevels || !c.line)
        return;
    CHECK(strcmp(c.header[0], "sepal_length") == 0 && strcmp(c.header[4], "species") == 0);
    CHECK(dnn_csv_column(&c, "species") == 4 && dnn_csv_column(&c, "petal_width") == 3);
    CHECK(dnn_csv_column(&c, "nope") == -1 && dnn_csv_column(&c, NULL) == -1 && dnn_csv_column(NULL, "x") == -1);
    for (int j = 0; j < 4; j++)
        CHECK(c.levels[j] == NULL && c.nlevels[j] == 0);
    CHECK(c.nlevels[4] == 3 && c.levels[4]);
    CHECK(c.levels[4] && !strcmp(c.levels[4][0], "setosa") && !strcmp(c.levels[4][1], "versicolor") &&
          !strcmp(c.levels[4][2], "virginica"));
    CHECK(near(c.data[0], 5.1) && near(c.data[1], 3.5) && c.data[4] == 0 && c.data[14] == 1 && c.data[29] == 2);
    CHECK(near(c.data[20], 6.3) && c.line[0] == 2 && c.line[5] == 7);
    dnn_csv_free(&c);
    CHECK(c.data == NULL && c.rows == 0 && c.header == NULL);
    dnn_csv_free(NULL);
}

/* The same rows without a header: the first line is data. */
static void csv_iris_no_header(void) {
    dnn_csv c;
    CHECK(dnn_csv_read(put_iris("iris.csv", 0, 6, 0, NULL), &c, msg, sizeof msg) == DNN_OK);
    CHECK(c.rows == 6 && c.cols == 5 && c.header == NULL && c.nlevels && c.nlevels[4] == 3);
    CHECK(c.data && near(c.data[0], 5.1) && c.data[4] == 0 && c.line && c.line[0] == 1);
    CHECK(dnn_csv_column(&c, "species") == -1);
    dnn_csv_free(&c);
}

/* BOM, CRLF, quotes with "" and separators and a newline inside, blanks
 * around fields, blank lines, no final newline. */
static void csv_syntax(void) {
    const char *text = "\xEF\xBB\xBF"
                       "id, name ,score\r\n"
                       "\r\n"
                       "1,\"Smith, J.\",  2.5 \r\n"
                       "  \t \r\n"
                       "2 , \"say \"\"hi\"\"\" ,\"3\"\r\n"
                       "3,\"two\nlines\",-1e-3\r\n"
                       "4,plain,\"+.5\"";
    dnn_csv c;
    CHECK(dnn_csv_read(put_text("syntax.csv", text), &c, msg, sizeof msg) == DNN_OK);
    if (check_why[0] || !c.data || !c.header) {
        if (!check_why[0])
            snprintf(check_why, sizeof check_why, "no data or header");
        dnn_csv_free(&c);
        return;
    }
    CHECK(c.rows == 4 && c.cols == 3);
    CHECK(!strcmp(c.header[0], "id") && !strcmp(c.header[1], "name") && !strcmp(c.header[2], "score"));
    CHECK(c.nlevels[0] == 0 && c.nlevels[2] == 0 && c.nlevels[1] == 4);
    /* strcmp order: "Smith, J.", "plain", "say \"hi\"", "two\nlines" */
    CHECK(!strcmp(c.levels[1][0], "Smith, J.") && !strcmp(c.levels[1][1], "plain") &&
          !strcmp(c.levels[1][2], "say \"hi\"") && !strcmp(c.levels[1][3], "two\nlines"));
    static const float want[] = {1, 0, 2.5f, 2, 2, 3, 3, 3, -1e-3f, 4, 1, 0.5f};
    for (int i = 0; i < 12; i++)
        CHECK(c.data[i] == want[i]);
    CHECK(c.line[0] == 3 && c.line[1] == 5 && c.line[2] == 6 && c.line[3] == 8);
    dnn_csv_free(&c);
}

static void csv_separators(void) {
    dnn_csv c;
    CHECK(dnn_csv_read(put_text("semi.csv", "a;b\n1,5;2\n3;4\n"), &c, msg, sizeof msg) == DNN_OK);
    /* ';' chosen from the header; "1,5" (a decimal comma) is then text */
    CHECK(c.cols == 2 && c.rows == 2 && c.nlevels && c.nlevels[0] == 2 && c.nlevels[1] == 0);
    dnn_csv_free(&c);
    CHECK(dnn_csv_read(put_text("tab.tsv", "x\ty\tlabel\n1\t2\tcat\n3\t4\t\"dog\"\n"), &c, msg, sizeof msg) ==
          DNN_OK);
    CHECK(c.cols == 3 && c.rows == 2 && c.header && c.nlevels && c.nlevels[2] == 2 && c.data && c.data[3] == 3);
    dnn_csv_free(&c);
    /* a comma on the first line keeps ',' */
    CHECK(dnn_csv_read(put_text("mixed.csv", "a,b;c\n1,2\n"), &c, msg, sizeof msg) == DNN_OK);
    CHECK(c.cols == 2 && c.header && !strcmp(c.header[1], "b;c"));
    dnn_csv_free(&c);
    /* one column: no separator at all */
    CHECK(dnn_csv_read(put_text("one.csv", "y\n1\n2\n\n3"), &c, msg, sizeof msg) == DNN_OK);
    CHECK(c.cols == 1 && c.rows == 3 && c.header && c.data && c.data[2] == 3 && c.line[2] == 5);
    dnn_csv_free(&c);
}

/* The header rule, case by case. */
static int header_of(const char *text, int *rows) {
    dnn_csv c;
    int rc = dnn_csv_read(put_text("h.csv", text), &c, msg, sizeof msg);
    if (rc != DNN_OK && !check_why[0])
        snprintf(check_why, sizeof check_why, "%.60s: %s", text, msg);
    int h = c.header != NULL;
    *rows = c.rows;
    dnn_csv_free(&c);
    return h;
}

static void csv_header_rule(void) {
    int rows;
    CHECK(header_of("a,b\n1,2\n", &rows) == 1 && rows == 1);          /* (a) and (b) */
    CHECK(header_of("1,2\n3,4\n", &rows) == 0 && rows == 2);          /* all numbers */
    CHECK(header_of("red,big\nblue,small\n", &rows) == 0 && rows == 2); /* all text: no way to tell */
    CHECK(header_of("x,kind\n1,a\nfoo,b\n", &rows) == 1 && rows == 2); /* (b) only: x is textual below */
    CHECK(header_of("x,kind\nfoo,a\n1,b\n", &rows) == 0 && rows == 3); /* neither */
    CHECK(header_of("1,a\n2,b\n", &rows) == 0 && rows == 2);          /* text over text */
    CHECK(header_of("a,b\n", &rows) == 0 && rows == 1);               /* one line is data */
    CHECK(header_of(",x,y\n0,1.5,2\n1,2.5,3\n", &rows) == 1 && rows == 2); /* pandas' index column */
    CHECK(header_of("5.1,3.5,setosa\n4.9,3.0,setosa\n", &rows) == 0 && rows == 2);
}

/* Numbers give what (float)strtod gives, through the fast path or not;
 * hex and other non-decimal spellings are text. */
static void csv_numbers(void) {
    static const char *nums[] = {"0",       "-0",        "007",      "1.",        ".5",        "+7",
                                 "0.1",     "-3.25e-2",  "1E10",     "1e+22",     "1e-22",     "123456789",
                                 "9007199254740993", "1234567890123456789012", "1.000000000000000000e+00",
                                 "0.000000000000000000000000001", "3.4028234e38", "1e-50", "6.02214076e23",
                                 "0.30000000000000004", "2.5e-3", "100000000000000000000000000000"};
    size_t n = sizeof nums / sizeof *nums;
    char text[4096];
    size_t k = (size_t)snprintf(text, sizeof text, "v\n");
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(text + k, sizeof text - k, "%s\n", nums[i]);
    dnn_csv c;
    CHECK(dnn_csv_read(put_text("nums.csv", text), &c, msg, sizeof msg) == DNN_OK);
    CHECK(c.rows == (int)n && c.nlevels && c.nlevels[0] == 0);
    for (size_t i = 0; c.data && i < n && (int)i < c.rows; i++)
        if (c.data[i] != (float)strtod(nums[i], NULL) && !check_why[0])
            snprintf(check_why, sizeof check_why, "%s read as %.9g, strtod %.9g", nums[i], c.data[i], (float)strtod(nums[i], NULL));
    CHECK(c.data && signbit(c.data[1]));
    dnn_csv_free(&c);

    /* many random decimals, compared with strtod */
    static char big[1 << 20];
    static char vals[20000][40];
    srand(7);
    k = (size_t)snprintf(big, sizeof big, "v\n");
    for (int i = 0; i < 20000; i++) {
        int digits = 1 + rand() % 20, point = rand() % (digits + 1), e = rand() % 4 ? 0 : rand() % 50 - 35;
        char *p = vals[i];
        if (rand() % 2)
            *p++ = '-';
        for (int d = 0; d < digits; d++) {
            if (d == point && d > 0)
                *p++ = '.';
            *p++ = (char)('0' + rand() % 10);
        }
        if (e)
            p += sprintf(p, "e%d", e);
        *p = 0;
        k += (size_t)snprintf(big + k, sizeof big - k, "%s\n", vals[i]);
    }
    CHECK(dnn_csv_read(put("random.csv", big, k), &c, msg, sizeof msg) == DNN_OK && c.rows == 20000);
    for (int i = 0; c.data && i < c.rows; i++)
        if (c.data[i] != (float)strtod(vals[i], NULL) && !check_why[0])
            snprintf(check_why, sizeof check_why, "%s read as %.9g, strtod %.9g", vals[i], c.data[i], (float)strtod(vals[i], NULL));
    dnn_csv_free(&c);

    /* not numbers: the column is textual */
    CHECK(dnn_csv_read(put_text("hex.csv", "a,b\n1,0x10\n2,1e\n3,1.2.3\n4, -\n5,NA\n"), &c, msg, sizeof msg) ==
          DNN_OK);
    CHECK(c.nlevels && c.nlevels[0] == 0 && c.nlevels[1] == 5);
    dnn_csv_free(&c);
}

/* Exactly 1000 distinct values are fine. */
static void csv_levels_limit(void) {
    static char text[1 << 16];
    size_t n = (size_t)snprintf(text, sizeof text, "x,name\n");
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%d,n%03d\n", i, 999 - i);
    dnn_csv c;
    CHECK(dnn_csv_read(put("levels.csv", text, n), &c, msg, sizeof msg) == DNN_OK);
    CHECK(c.nlevels && c.nlevels[1] == 1000 && c.levels[1] && !strcmp(c.levels[1][999], "n999"));
    CHECK(c.data && c.data[1] == 999 && c.data[2 * 999 + 1] == 0);
    dnn_csv_free(&c);
}

/* ---- CSV: bad files ----------------------------------------------------------- */
/* dnn_csv_read that must fail with code and exactly the message want. */
static void csv_fails(const char *file, int code, const char *want) {
    dnn_csv c;
    memset(&c, 0x55, sizeof c);
    int rc = dnn_csv_read(file, &c, msg, sizeof msg);
    CHECK(c.data == NULL && c.header == NULL && c.levels == NULL && c.line == NULL && c.rows == 0 && c.cols == 0);
    if ((rc != code || strcmp(msg, want) != 0) && !check_why[0])
        snprintf(check_why, sizeof check_why, "%s: got %d \"%s\", want %d \"%s\"", file, rc, msg, code, want);
}

static void csv_field_count(void) {
    csv_fails(put_iris("iris.csv", 1, 20, 17, "6.3,3.3,6.0,virginica"), DNN_E_SHAPE, "iris.csv:17: 4 fields, expected 5");
    csv_fails(put_iris("iris.csv", 0, 20, 3, "6.3"), DNN_E_SHAPE, "iris.csv:3: 1 field, expected 5");
    csv_fails(put_iris("iris.csv", 0, 20, 4, "6.3,3.3,6.0,2.5,virginica,"), DNN_E_SHAPE,
              "iris.csv:4: 6 fields, expected 5");
    /* a quoted newline does not end the row; lines still count */
    csv_fails(put_text("data.csv", "a,b\n\"x\ny\",1\n\n2\n"), DNN_E_SHAPE, "data.csv:5: 1 field, expected 2");
}

static void csv_empty_field(void) {
    static char text[4096];
    size_t n = (size_t)snprintf(text, sizeof text, "a,b,c\n");
    for (int line = 2; line < 30; line++)
        n += (size_t)snprintf(text + n, sizeof text - n, line == 23 ? "1,2,\n" : "1,2,3\n");
    csv_fails(put("data.csv", text, n), DNN_E_HEADER, "data.csv:23: field 3 is empty");
    csv_fails(put_text("data.csv", "a,b\n1, \"\" \n"), DNN_E_HEADER, "data.csv:2: field 2 is empty");
    /* on the first line only when that is not a header (here column 2 is textual) */
    csv_fails(put_text("data.csv", "1,,3\n4,a,6\n"), DNN_E_HEADER, "data.csv:1: field 2 is empty");
    csv_fails(put_text("data.csv", "x,y\ncat,\n"), DNN_E_HEADER, "data.csv:2: field 2 is empty");
}

static void csv_not_finite(void) {
    csv_fails(put_text("data.csv", "a,b\n1,2\n3,4\n\n5,nan\n6,NaN\n"), DNN_E_DTYPE, "data.csv:5: field 2 is NaN");
    csv_fails(put_text("data.csv", "a,b\n1,2\n3,4\n\n5,-inf\n"), DNN_E_DTYPE, "data.csv:5: field 2 is not finite");
    csv_fails(put_text("data.csv", "a,b\n1,Infinity\n"), DNN_E_DTYPE, "data.csv:2: field 2 is not finite");
    csv_fails(put_text("data.csv", "a,b\n1,2\n3,1e39\n"), DNN_E_DTYPE, "data.csv:3: field 2 is out of float range");
    csv_fails(put_text("data.csv", "a,b\n1,2\n-1e999,1\n"), DNN_E_DTYPE, "data.csv:3: field 1 is out of float range");
    /* no header: the first line counts */
    csv_fails(put_text("data.csv", "1,nan\n3,4\n"), DNN_E_DTYPE, "data.csv:1: field 2 is NaN");
    /* the earliest row wins, then the leftmost field */
    csv_fails(put_text("data.csv", "a,b,c\n1,2,3\n4,5,inf\n7,nan,nan\n"), DNN_E_DTYPE,
              "data.csv:3: field 3 is not finite");
    /* in a textual column "nan" is just a name */
    dnn_csv c;
    CHECK(dnn_csv_read(put_text("data.csv", "a,b\n1,nan\n2,cat\n"), &c, msg, sizeof msg) == DNN_OK);
    CHECK(c.nlevels && c.nlevels[1] == 2 && c.levels[1] && !strcmp(c.levels[1][1], "nan"));
    dnn_csv_free(&c);
}

static void csv_quotes_bad(void) {
    csv_fails(put_text("data.csv", "a,b\n1,2\n3,\"abc\n4,5\n"), DNN_E_HEADER, "data.csv:3: field 2 has no closing quote");
    csv_fails(put_text("data.csv", "a,b\n1,\"ab\"c\n"), DNN_E_HEADER,
              "data.csv:2: field 2 has text after its closing quote");
}

static void csv_too_many_levels(void) {
    static char text[1 << 16];
    size_t n = (size_t)snprintf(text, sizeof text, "x,name\n");
    for (int i = 0; i < 2100; i++) /* each value twice: the 1001st distinct one is on line 2002 */
        n += (size_t)snprintf(text + n, sizeof text - n, "%d,n%d\n", i, i / 2);
    csv_fails(put("levels.csv", text, n), DNN_E_DTYPE,
              "levels.csv:2002: field 2 is distinct value 1001 of a textual column, which may hold 1000 (the "
              "column is textual because line 2 holds \"n0\")");
    /* a numeric column spoilt by one typo says where the text is */
    n = (size_t)snprintf(text, sizeof text, "x\n");
    for (int i = 0; i < 1100; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, i == 500 ? "1.2.%d\n" : "%d\n", i);
    csv_fails(put("typo.csv", text, n), DNN_E_DTYPE,
              "typo.csv:1002: field 1 is distinct value 1001 of a textual column, which may hold 1000 (the "
              "column is textual because line 502 holds \"1.2.500\")");
}

static void csv_files(void) {
    csv_fails("data.csv.missing", DNN_E_IO, "cannot open data.csv.missing: No such file or directory");
    CHECK(mkdir_ok());
    csv_fails("adir", DNN_E_IO, "cannot read adir: Is a directory");
    csv_fails(put_text("data.csv", ""), DNN_E_TRUNCATED, "data.csv: no data rows");
    csv_fails(put_text("data.csv", "\xEF\xBB\xBF\r\n \n\n"), DNN_E_TRUNCATED, "data.csv: no data rows");
    dnn_csv c;
    /* a length of whole pages is read with stdio, not mapped: the same result */
    static char page[8192];
    for (size_t size = 4096; size <= sizeof page; size *= 2) {
        memset(page, ' ', size);
        memcpy(page, "v\n1\n2\n", 6);
        page[size - 2] = '3';
        page[size - 1] = '\n';
        CHECK(dnn_csv_read(put("page.csv", page, size), &c, msg, sizeof msg) == DNN_OK && c.rows == 3 && c.data &&
              c.data[2] == 3);
        dnn_csv_free(&c);
        page[size - 1] = '4'; /* no final newline: the last field ends at the end of the buffer */
        CHECK(dnn_csv_read(put("page.csv", page, size), &c, msg, sizeof msg) == DNN_OK && c.rows == 3 && c.data &&
              c.data[2] == 34);
        dnn_csv_free(&c);
    }
    CHECK(dnn_csv_read(NULL, &c, msg, sizeof msg) == DNN_E_ARG && c.data == NULL);
    CHECK(dnn_csv_read("x", NULL, msg, sizeof msg) == DNN_E_ARG);
    char small[8];
    CHECK(dnn_csv_read("data.csv.missing", &c, small, sizeof small) == DNN_E_IO && !strcmp(small, "cannot "));
}

/* ---- CSV: a large file ---------------------------------------------------------- */
static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int timing = 1;

/* 60,000 rows of a label and 784 pixels, MNIST-like: mostly zeros. */
static void csv_speed(void) {
    FILE *f = fopen("big.csv", "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("label", f);
    for (int j = 0; j < 784; j++)
        fprintf(f, ",p%d", j);
    fputc('\n', f);
    unsigned s = 1;
    char line[8192];
    for (int i = 0; i < 60000; i++) {
        size_t n = (size_t)sprintf(line, "%d", i % 10);
        for (int j = 0; j < 784; j++) {
            s = s * 1103515245u + 12345u;
            int v = (s >> 16) % 4 ? 0 : (int)((s >> 8) % 256);
            if (j == (i % 784))
                v = (i * 7 + j) % 256;
            n += (size_t)sprintf(line + n, ",%d", v);
        }
        line[n++] = '\n';
        fwrite(line, 1, n, f);
    }
    CHECK(fclose(f) == 0);
    dnn_csv c;
    double t0 = seconds();
    clock_t c0 = clock();
    int rc = dnn_csv_read("big.csv", &c, msg, sizeof msg);
    double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC, t = seconds() - t0;
    CHECK(rc == DNN_OK && c.rows == 60000 && c.cols == 785 && c.header && c.nlevels);
    for (int i = 0; rc == DNN_OK && i < 60000; i += 997)
        CHECK(c.data[(size_t)i * 785] == i % 10 && c.data[(size_t)i * 785 + 1 + i % 784] == (i * 7 + i % 784) % 256);
    CHECK(rc != DNN_OK || (c.nlevels[0] == 0 && dnn_csv_column(&c, "p783") == 784 && c.line[59999] == 60001));
    dnn_csv_free(&c);
    remove("big.csv");
    /* CPU time (user + system) is what is checked: the wall time also
     * counts whatever else the machine is doing. */
    if (timing && cpu >= 2.0 && !check_why[0])
        snprintf(check_why, sizeof check_why, "read 60000x785 in %.2f s of CPU (%.2f s wall), want < 2 s", cpu, t);
    snprintf(check_note, sizeof check_note, "60000x785 read in %.2f s of CPU, %.2f s wall%s", cpu, t,
             timing ? "" : " (not checked: sanitizers)");
}

/* ---- .npy files written byte by byte ----------------------------------------------- */
/* A .npy file: version, the dict (padded to 64 as numpy does), then len data bytes. */
static const char *put_npy(const char *name, int major, const char *dict, const void *data, size_t len) {
    static unsigned char buf[1 << 16];
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64, hlen = total - pre;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    for (size_t k = 0; k < pre - 8; k++)
        buf[8 + k] = (unsigned char)(hlen >> (8 * k));
    memcpy(buf + pre, dict, dl);
    memset(buf + pre + dl, ' ', hlen - dl - 1);
    buf[total - 1] = '\n';
    memcpy(buf + total, data, len);
    return put(name, buf, total + len);
}

/* The dict numpy writes for descr and shape. */
static const char *dict_of(const char *descr, const char *shape) {
    static char d[256];
    snprintf(d, sizeof d, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    return d;
}

/* Element i of a test array as bytes of the given size and order. */
static void put_bytes(unsigned char *p, uint64_t bits, int size, int big) {
    for (int k = 0; k < size; k++)
        p[big ? size - 1 - k : k] = (unsigned char)(bits >> (8 * k));
}

static void npy_dtypes(void) {
    static const struct {
        const char *code;
        int size, is_int, is_unsigned;
    } types[] = {{"f4", 4, 0, 0}, {"f8", 8, 0, 0}, {"u1", 1, 1, 1}, {"i1", 1, 1, 0}, {"u2", 2, 1, 1}, {"i2", 2, 1, 0},
                 {"i4", 4, 1, 0}, {"u4", 4, 1, 1}, {"i8", 8, 1, 0}, {"u8", 8, 1, 1}, {"b1", 1, 1, 1}};
    static const double vals[6] = {0, 1, -2, 3, -120, 127};
    for (size_t t = 0; t < sizeof types / sizeof *types; t++)
        for (int order = 0; order < 3; order++) {
            if (order == 2 && types[t].size != 1)
                continue;
            char descr[8];
            snprintf(descr, sizeof descr, "%c%s", "<>|"[order], types[t].code);
            unsigned char data[48];
            double want[6];
            for (int i = 0; i < 6; i++) {
                double v = types[t].is_unsigned ? fabs(vals[i]) : vals[i];
                if (types[t].code[0] == 'b')
                    v = i % 2;
                if (types[t].code[0] == 'f')
                    v = vals[i] * 1.25;
                uint64_t bits;
                if (types[t].code[0] == 'f' && types[t].size == 4) {
                    float f = (float)v;
                    uint32_t b;
                    memcpy(&b, &f, 4);
                    bits = b;
                } else if (types[t].code[0] == 'f') {
                    memcpy(&bits, &v, 8);
                } else {
                    bits = (uint64_t)(int64_t)v;
                }
                put_bytes(data + i * types[t].size, bits, types[t].size, order == 1);
                want[i] = v;
            }
            dnn_array a;
            int rc = dnn_npy_read(put_npy("t.npy", 1, dict_of(descr, "(2, 3)"), data, 6 * (size_t)types[t].size),
                                  0.5f, &a, msg, sizeof msg);
            if (rc != DNN_OK && !check_why[0])
                snprintf(check_why, sizeof check_why, "%s: %d %s", descr, rc, msg);
            CHECK(rc != DNN_OK || (a.rank == 2 && a.dims[0] == 2 && a.dims[1] == 3 && a.dims[2] == 0 && a.count == 6));
            CHECK(rc != DNN_OK || a.is_integer == types[t].is_int);
            for (int i = 0; rc == DNN_OK && i < 6; i++)
                if (a.data[i] != (float)(want[i] * 0.5) && !check_why[0])
                    snprintf(check_why, sizeof check_why, "%s element %d: %g, want %g", descr, i, a.data[i], want[i] * 0.5);
            dnn_array_free(&a);
        }
}

/* Versions 2.0 and 3.0, and dicts written by hand rather than by numpy. */
static void npy_headers(void) {
    static const struct {
        int major;
        const char *dict;
        int rank;
        int64_t d0, d1;
    } cases[] = {
        {2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 2, 2, 2},
        {3, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 1, 4, 0},
        {1, "{\"shape\":(4,),\"descr\":\"<f4\",\"fortran_order\":False}", 1, 4, 0},
        {1, "  {  'descr' : '<f4' ,\n 'fortran_order' : False ,\t'shape' : ( 1 , 4 , ) , }  ", 2, 1, 4},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4L, 1L)}", 2, 4, 1},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4)}", 1, 4, 0},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 2]}", 2, 2, 2},
        {1, "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 4), }", 2, 1, 4}, /* same layout as C */
        {1, "{'descr': '<f4', 'fortran_order': True, 'shape': (4,), }", 1, 4, 0},
    };
    static const float vals[4] = {1.5f, -2, 0.25f, 1e-20f};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dnn_array a;
        int rc = dnn_npy_read(put_npy("h.npy", cases[i].major, cases[i].dict, vals, 16), 1.0f, &a, msg, sizeof msg);
        if (rc != DNN_OK && !check_why[0])
            snprintf(check_why, sizeof check_why, "case %zu: %s", i, msg);
        CHECK(rc != DNN_OK || (a.rank == cases[i].rank && a.dims[0] == cases[i].d0 && a.dims[1] == cases[i].d1 &&
                               a.count == 4 && a.is_integer == 0 && a.data[3] == 1e-20f && a.data[0] == 1.5f));
        dnn_array_free(&a);
    }
    /* rank 0 holds one element; a zero dim none */
    dnn_array a;
    CHECK(dnn_npy_read(put_npy("r0.npy", 1, dict_of("<f4", "()"), vals, 4), 2.0f, &a, msg, sizeof msg) == DNN_OK);
    CHECK(a.rank == 0 && a.count == 1 && a.data && a.data[0] == 3.0f);
    dnn_array_free(&a);
    CHECK(dnn_npy_read(put_npy("z.npy", 1, dict_of("<i8", "(0, 5)"), vals, 0), 1.0f, &a, msg, sizeof msg) == DNN_OK);
    CHECK(a.rank == 2 && a.count == 0 && a.dims[1] == 5 && a.data != NULL && a.is_integer);
    dnn_array_free(&a);
    CHECK(a.data == NULL && a.rank == 0);
    dnn_array_free(NULL);
}

/* dnn_npy_read that must fail with code and exactly the message want. */
static void npy_fails(const char *file, int code, const char *want) {
    dnn_array a;
    memset(&a, 0x55, sizeof a);
    int rc = dnn_npy_read(file, 1.0f, &a, msg, sizeof msg);
    CHECK(a.data == NULL && a.count == 0 && a.rank == 0);
    if ((rc != code || strcmp(msg, want) != 0) && !check_why[0])
        snprintf(check_why, sizeof check_why, "%s: got %d \"%s\", want %d \"%s\"", file, rc, msg, code, want);
}

static void npy_bad_files(void) {
    static const float vals[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    npy_fails("x.npy", DNN_E_IO, "cannot open x.npy: No such file or directory");
    npy_fails("adir", DNN_E_IO, "cannot read adir: Is a directory");
    npy_fails(put_text("x.npy", "PK\003\004 a zip file"), DNN_E_HEADER,
              "x.npy: not a .npy file (it does not start with \\x93NUMPY)");
    npy_fails(put_text("x.npy", ""), DNN_E_TRUNCATED, "x.npy: truncated: 0 of 8 magic and version bytes");
    npy_fails(put("x.npy", "\x93NUMPY\x01", 7), DNN_E_TRUNCATED, "x.npy: truncated: 7 of 8 magic and version bytes");
    npy_fails(put("x.npy", "\x93NUMPY\x04\x00\x10\x00", 10), DNN_E_HEADER,
              "x.npy: format version 4.0 is not supported (1.0, 2.0, 3.0)");
    npy_fails(put("x.npy", "\x93NUMPY\x02\x00\x10", 9), DNN_E_TRUNCATED,
              "x.npy: truncated: 1 of 4 header length bytes");
    npy_fails(put("x.npy", "\x93NUMPY\x02\x00\x00\x00\x00\x40{}", 14), DNN_E_HEADER,
              "x.npy: a header of 1073741824 bytes is too long");
    npy_fails(put("x.npy", "\x93NUMPY\x01\x00\x40\x00{'descr'", 18), DNN_E_TRUNCATED,
              "x.npy: truncated: 8 of 64 header bytes");
    npy_fails(put_npy("x.npy", 1, "{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}", vals, 8), DNN_E_HEADER,
              "x.npy: malformed header: expected ':' at byte 9 of {'descr' '<f4', 'fortran_order': False, 'shape': "
              "(2,)}");
    npy_fails(put_npy("x.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1)}", vals, 8),
              DNN_E_HEADER,
              "x.npy: malformed header: expected a dimension (a whole number >= 0) at byte 54 of {'descr': '<f4', "
              "'fortran_order': False, 'shape': (2, -1)}");
    npy_fails(put_npy("x.npy", 1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", vals, 8), DNN_E_HEADER,
              "x.npy: malformed header: expected True or False at byte 34 of {'descr': '<f4', 'fortran_order': 0, "
              "'shape': (2,)}");
    npy_fails(put_npy("x.npy", 1, "{'descr': '<f4', 'shape': (2,)} x", vals, 8), DNN_E_HEADER,
              "x.npy: malformed header: expected only padding after '}' at byte 32 of {'descr': '<f4', 'shape': "
              "(2,)} x");
    npy_fails(put_npy("x.npy", 1, "{'descr': '<f4', 'shape': (2,)}", vals, 8), DNN_E_HEADER,
              "x.npy: the header has no 'fortran_order'");
    npy_fails(put_npy("x.npy", 1, "{'descr': '<f4', 'shape': (2,), 'shape': (2,)}", vals, 8), DNN_E_HEADER,
              "x.npy: key 'shape' twice in the header");
    npy_fails(put_npy("x.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", vals, 8),
              DNN_E_HEADER, "x.npy: unknown key 'x' in the header");
    npy_fails(put_npy("x.npy", 1, dict_of("<f2", "(2,)"), vals, 4), DNN_E_DTYPE,
              "x.npy: dtype '<f2' is not supported (f4 f8 i1 u1 i2 u2 i4 u4 i8 u8 b1, with < > or |)");
    npy_fails(put_npy("x.npy", 1, dict_of("|i4", "(2,)"), vals, 8), DNN_E_DTYPE,
              "x.npy: dtype '|i4' is not supported (f4 f8 i1 u1 i2 u2 i4 u4 i8 u8 b1, with < > or |)");
    npy_fails(put_npy("x.npy", 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", vals, 8),
              DNN_E_DTYPE, "x.npy: a structured dtype is not supported");
    npy_fails(put_npy("x.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", vals, 24),
              DNN_E_DTYPE, "x.npy: the array is in Fortran order; save it with np.ascontiguousarray");
    npy_fails(put_npy("x.npy", 1, dict_of("<f4", "(1, 1, 1, 1, 1, 1, 1, 1, 1)"), vals, 4), DNN_E_HEADER,
              "x.npy: rank above 8");
    npy_fails(put_npy("x.npy", 1, dict_of("<f4", "(4294967296, 4294967296)"), vals, 4), DNN_E_HEADER,
              "x.npy: dimensions overflow: the product of the first 2 is too large");
    npy_fails(put_npy("x.npy", 1, dict_of("<f4", "(0, 99999999999999999999)"), vals, 4), DNN_E_HEADER,
              "x.npy: dimension 1 is too large");
    npy_fails(put_npy("x.npy", 1, dict_of("<f4", "(2, 3)"), vals, 22), DNN_E_TRUNCATED,
              "x.npy: truncated: 5 of 6 elements of 4 bytes");
    npy_fails(put_npy("x.npy", 3, dict_of("<f8", "(100000,)"), vals, 32), DNN_E_TRUNCATED,
              "x.npy: truncated: 4 of 100000 elements of 8 bytes");
    /* a header claiming 355 GB on a file of 200 bytes: truncated, without allocating it (found by fuzzing) */
    npy_fails(put_npy("x.npy", 1, dict_of("<f4", "(88880000000,)"), vals, 32), DNN_E_TRUNCATED,
              "x.npy: truncated: 8 of 88880000000 elements of 4 bytes");
    npy_fails(put_npy("x.npy", 1, dict_of("<f4", "(1,)"), vals, 8), DNN_E_HEADER,
              "x.npy: bytes after the last of the 1 elements");
}

static void npy_bad_values(void) {
    unsigned char data[64];
    float f[4] = {1, 2, 3, NAN};
    memcpy(data, f, 16); /* the tests assume a little-endian host for floats written this way */
    npy_fails(put_npy("x.npy", 1, dict_of("<f4", "(2, 2)"), data, 16), DNN_E_DTYPE,
              "x.npy: element 3 (flat index) is NaN");
    f[1] = -INFINITY;
    memcpy(data, f, 16);
    npy_fails(put_npy("x.npy", 1, dict_of("<f4", "(4,)"), data, 16), DNN_E_DTYPE,
              "x.npy: element 1 (flat index) is not finite");
    double d[2] = {1, 1e39};
    memcpy(data, d, 16);
    npy_fails(put_npy("x.npy", 1, dict_of("<f8", "(2,)"), data, 16), DNN_E_DTYPE,
              "x.npy: element 1 (flat index) is 1e+39, beyond float range");
    put_bytes(data, 1u << 24, 4, 0);
    npy_fails(put_npy("x.npy", 1, dict_of("<i4", "(1,)"), data, 4), DNN_E_DTYPE,
              "x.npy: element 0 (flat index) is 16777216, not exact as a float (|v| < 2^24)");
    put_bytes(data, (uint64_t)-(int64_t)(1 << 24), 8, 1);
    npy_fails(put_npy("x.npy", 1, dict_of(">i8", "()"), data, 8), DNN_E_DTYPE,
              "x.npy: element 0 (flat index) is -16777216, not exact as a float (|v| < 2^24)");
    put_bytes(data, ~(uint64_t)0, 8, 0);
    npy_fails(put_npy("x.npy", 1, dict_of("<u8", "()"), data, 8), DNN_E_DTYPE,
              "x.npy: element 0 (flat index) is 18446744073709551615, not exact as a float (|v| < 2^24)");
    /* the largest exact ones are fine */
    dnn_array a;
    put_bytes(data, (1u << 24) - 1, 4, 0);
    put_bytes(data + 4, (uint64_t)(-(1 << 24) + 1), 4, 0);
    CHECK(dnn_npy_read(put_npy("x.npy", 1, dict_of("<i4", "(2,)"), data, 8), 1.0f, &a, msg, sizeof msg) == DNN_OK);
    CHECK(a.data && a.data[0] == 16777215.0f && a.data[1] == -16777215.0f);
    dnn_array_free(&a);
}

/* Arrays written by dnn_npy_write read back bit for bit, in numpy's layout. */
static void npy_round_trip(void) {
    static float vals[3 * 4 * 5];
    for (int i = 0; i < 60; i++)
        vals[i] = (float)(i - 30) / 7.0f;
    static const struct {
        int rank;
        int64_t dims[3];
        const char *shape;
    } cases[] = {{3, {3, 4, 5}, "(3, 4, 5)"}, {1, {60}, "(60,)"}, {0, {0}, "()"}, {2, {0, 7}, "(0, 7)"}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        CHECK(dnn_npy_write("rt.npy", vals, cases[c].rank, cases[c].dims, msg, sizeof msg) == DNN_OK && !msg[0]);
        unsigned char head[128];
        FILE *f = fopen("rt.npy", "rb");
        size_t n = f ? fread(head, 1, sizeof head, f) : 0;
        if (f)
            fclose(f);
        char want[128];
        snprintf(want, sizeof want, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", cases[c].shape);
        CHECK(n >= 64 && !memcmp(head, "\x93NUMPY\x01\x00", 8) && (10 + head[8] + 256 * head[9]) % 64 == 0);
        CHECK(n >= 64 && !memcmp(head + 10, want, strlen(want)) && head[9 + head[8] + 256 * head[9]] == '\n');
        dnn_array a;
        CHECK(dnn_npy_read("rt.npy", 1.0f, &a, msg, sizeof msg) == DNN_OK);
        CHECK(a.rank == cases[c].rank && !a.is_integer);
        for (int i = 0; i < a.rank; i++)
            CHECK(a.dims[i] == cases[c].dims[i]);
        CHECK(a.data && (a.count == 0 || memcmp(a.data, vals, a.count * sizeof *a.data) == 0));
        CHECK(a.count == (c == 0 || c == 1 ? 60u : c == 2 ? 1u : 0u));
        dnn_array_free(&a);
    }
    CHECK(remove("rt.npy") == 0);
}

static void npy_write_errors(void) {
    int64_t dims[2] = {2, -1};
    float v[4] = {0};
    CHECK(dnn_npy_write("w.npy", v, 2, dims, msg, sizeof msg) == DNN_E_ARG && !strcmp(msg, "w.npy: dimension 1 is -1"));
    CHECK(dnn_npy_write("w.npy", v, 9, dims, msg, sizeof msg) == DNN_E_ARG &&
          !strcmp(msg, "w.npy: rank 9 is not 0..8 (or dims is NULL)"));
    dims[1] = 2;
    CHECK(dnn_npy_write("w.npy", NULL, 2, dims, msg, sizeof msg) == DNN_E_ARG && !strcmp(msg, "w.npy: data is NULL"));
    CHECK(dnn_npy_write(NULL, v, 2, dims, msg, sizeof msg) == DNN_E_ARG);
    int rc = dnn_npy_write("no-dir/w.npy", v, 2, dims, msg, sizeof msg);
    CHECK(rc == DNN_E_IO && !strcmp(msg, "cannot write no-dir/w.npy: No such file or directory"));
    CHECK(access("w.npy", F_OK) != 0);
}

/* ---- files made by NumPy (when run.sh could) -------------------------------------- */
static const char *numpy_dir;

/* Files of make_npy.py: each holds [[0, 1, 2], [3, 4, 5]] - 2 (or |x| for unsigned) in the named dtype. */
static void npy_from_numpy(void) {
    static const char *names[] = {"lt_f4", "lt_f8", "lt_i1", "lt_u1", "lt_i2", "lt_u2", "lt_i4", "lt_u4", "lt_i8",
                                  "lt_u8", "gt_f4", "gt_f8", "gt_i2", "gt_u2", "gt_i4", "gt_i8", "v2_f4", "v3_f4"};
    char file[4096];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(file, sizeof file, "%s/%s.npy", numpy_dir, names[i]);
        dnn_array a;
        int rc = dnn_npy_read(file, 1.0f, &a, msg, sizeof msg);
        if (rc != DNN_OK && !check_why[0])
            snprintf(check_why, sizeof check_why, "%s", msg);
        int unsig = strchr(names[i], 'u') != NULL;
        CHECK(rc != DNN_OK || (a.rank == 2 && a.dims[0] == 2 && a.dims[1] == 3 && a.is_integer == !strchr(names[i], 'f')));
        for (int k = 0; rc == DNN_OK && k < 6; k++)
            if (a.data[k] != (unsig ? fabs(k - 2.0) : k - 2.0) && !check_why[0])
                snprintf(check_why, sizeof check_why, "%s element %d is %g", names[i], k, a.data[k]);
        dnn_array_free(&a);
    }
    dnn_array a;
    snprintf(file, sizeof file, "%s/scalar.npy", numpy_dir);
    CHECK(dnn_npy_read(file, 1.0f, &a, msg, sizeof msg) == DNN_OK && a.rank == 0 && a.count == 1 && a.data[0] == 3.5f);
    dnn_array_free(&a);
    snprintf(file, sizeof file, "%s/empty.npy", numpy_dir);
    CHECK(dnn_npy_read(file, 1.0f, &a, msg, sizeof msg) == DNN_OK && a.rank == 2 && a.count == 0 && a.dims[1] == 5);
    dnn_array_free(&a);
    snprintf(file, sizeof file, "%s/bool.npy", numpy_dir);
    CHECK(dnn_npy_read(file, 1.0f, &a, msg, sizeof msg) == DNN_OK && a.count == 3 && a.data[0] == 1 && a.data[1] == 0);
    dnn_array_free(&a);
    snprintf(file, sizeof file, "%s/fortran.npy", numpy_dir);
    CHECK(dnn_npy_read(file, 1.0f, &a, msg, sizeof msg) == DNN_E_DTYPE && strstr(msg, "Fortran order"));
    snprintf(file, sizeof file, "%s/nan.npy", numpy_dir);
    CHECK(dnn_npy_read(file, 1.0f, &a, msg, sizeof msg) == DNN_E_DTYPE && strstr(msg, "element 4 (flat index) is NaN"));
    /* for run.sh to load with NumPy */
    float v[6] = {0.5f, -1, 2, 3.25f, 1e-3f, 7};
    int64_t dims[2] = {2, 3};
    CHECK(dnn_npy_write("from_c.npy", v, 2, dims, msg, sizeof msg) == DNN_OK);
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) != 0) {
        fprintf(stderr, "usage: %s SCRATCH-DIR [NUMPY-DIR|-] [--no-timing]\n", argv[0]);
        return 2;
    }
    numpy_dir = argc > 2 && strcmp(argv[2], "-") != 0 ? argv[2] : NULL;
    timing = !(argc > 3 && strcmp(argv[3], "--no-timing") == 0);
    RUN(csv_iris_header);
    RUN(csv_iris_no_header);
    RUN(csv_syntax);
    RUN(csv_separators);
    RUN(csv_header_rule);
    RUN(csv_numbers);
    RUN(csv_levels_limit);
    RUN(csv_field_count);
    RUN(csv_empty_field);
    RUN(csv_not_finite);
    RUN(csv_quotes_bad);
    RUN(csv_too_many_levels);
    RUN(csv_files);
    RUN(csv_speed);
    RUN(npy_dtypes);
    RUN(npy_headers);
    RUN(npy_bad_files);
    RUN(npy_bad_values);
    RUN(npy_round_trip);
    RUN(npy_write_errors);
    if (numpy_dir)
        RUN(npy_from_numpy);
    else
        printf("SKIP data.npy_from_numpy: no NumPy to run make_npy.py (python3-numpy)\n");
    return check_failures != 0;
}
