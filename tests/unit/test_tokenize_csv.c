/*
 * test_tokenize_csv.c - the CSV / TSV input of seqtrain-tokenize (tools/tokenize/csv.c): the
 * record parser (quoted fields with delimiters, line breaks and doubled quotes inside, CRLF /
 * CR / LF, trailing delimiters, Python's lenient quote rules, --no-quote, tabs), and a whole
 * file through st_tok_read_csv (BOM, header and column names, blank lines, joined text
 * columns, labels to class ids, --classes), with the exact message of every error it reports:
 * unterminated quote, missing or extra columns, unknown columns, empty labels, labels outside
 * a fixed list, empty and binary files.
 *
 * Errors end the tool (exit 1, or 2 for a command-line mistake), so they are run in a child
 * process whose stderr is captured and compared line for line.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "tokenize/csv.h"
#include "tokenize/utf8.h"

/* ---------------------------------------------------------------- records */

/* Every record of text (quote: RFC 4180 quoting on), shown as "[f1|f2|...]" one after the
 * other, into out. *lines: the line counter at the end. The input is copied to an exact-size
 * block so ASan sees any read past its end. */
static void records(const char *text, char delim, int quote, char *out, size_t cap, long *lines) {
    size_t n = strlen(text), pos = 0, *fo = NULL, focap = 0;
    char *in = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(in);
    memcpy(in, text, n);
    buf fb = {0}, show = {0};
    long line = 1;
    int nf;
    while (st_tok_csv_record("t.csv", in, n, &pos, &line, delim, quote, &fb, &fo, &focap, &nf)) {
        st_tok_buf_putc(&show, '[');
        for (int k = 0; k < nf; k++) {
            if (k) st_tok_buf_putc(&show, '|');
            st_tok_buf_put(&show, fb.p + fo[k], fo[k + 1] - fo[k]);
        }
        st_tok_buf_putc(&show, ']');
    }
    st_tok_buf_putc(&show, 0);
    ck_assert_uint_lt(show.n, cap);
    memcpy(out, show.p, show.n);
    if (lines) *lines = line;
    free(show.p);
    free(fb.p);
    free(fo);
    free(in);
}

#define ck_assert_records(text, delim, quote, want)                                            \
    do {                                                                                       \
        char got_[512];                                                                        \
        records(text, delim, quote, got_, sizeof got_, NULL);                                  \
        ck_assert_str_eq(got_, want);                                                          \
    } while (0)

START_TEST(test_plain) {
    long lines;
    char got[512];
    records("a,b,c\n1,2,3\n", ',', 1, got, sizeof got, &lines);
    ck_assert_str_eq(got, "[a|b|c][1|2|3]");
    ck_assert_int_eq(lines, 3);
    /* No final line break: the last record still counts. */
    ck_assert_records("a,b\nc,d", ',', 1, "[a|b][c|d]");
    /* A blank line is one record of one empty field (st_tok_read_csv then skips it). */
    ck_assert_records("a\n\nb\n", ',', 1, "[a][][b]");
    /* A trailing delimiter is one more, empty, field, at the end of a line or of the input. */
    ck_assert_records("a,b,\nc,,\n", ',', 1, "[a|b|][c||]");
    ck_assert_records("a,b,", ',', 1, "[a|b|]");
    ck_assert_records("", ',', 1, "");
}
END_TEST

START_TEST(test_quoted) {
    long lines;
    char got[512];
    /* Delimiters, a line break and doubled quotes inside quotes; the line counter counts the
     * break inside the quotes too. */
    records("\"x, y\",\"he said \"\"hi\"\"\",\"multi\nline\"\nz,w,v\n", ',', 1, got, sizeof got,
            &lines);
    ck_assert_str_eq(got, "[x, y|he said \"hi\"|multi\nline][z|w|v]");
    ck_assert_int_eq(lines, 4);
    /* An empty quoted field, and "" alone. */
    ck_assert_records("\"\",\"\"\"\"\n", ',', 1, "[|\"]");
    /* Python's non-strict reading: text after a closing quote is kept; a quote not at the
     * start of a field is an ordinary character. */
    ck_assert_records("\"ab\"cd,e\n", ',', 1, "[abcd|e]");
    ck_assert_records("ab\"cd,e\"\n", ',', 1, "[ab\"cd|e\"]");
    /* A CR or CRLF inside quotes is data. */
    ck_assert_records("\"a\r\nb\",c\r\n", ',', 1, "[a\r\nb|c]");
}
END_TEST

START_TEST(test_line_breaks) {
    long lines;
    char got[512];
    /* LF, CRLF and a lone CR all end a record (and a line). */
    records("a,b\r\nc,d\re,f\ng,h", ',', 1, got, sizeof got, &lines);
    ck_assert_str_eq(got, "[a|b][c|d][e|f][g|h]");
    ck_assert_int_eq(lines, 4);
}
END_TEST

START_TEST(test_no_quote_and_tabs) {
    /* --no-quote: quotes are data, so a quoted delimiter splits the field. */
    ck_assert_records("\"a,b\",c\n", ',', 0, "[\"a|b\"|c]");
    /* --tsv: tab-separated, commas and spaces are data. */
    ck_assert_records("spam\tFree entry, now!\nham\tok\n", '\t', 0,
                      "[spam|Free entry, now!][ham|ok]");
    /* Another delimiter with quoting on. */
    ck_assert_records("a;\"b;c\"\n", ';', 1, "[a|b;c]");
}
END_TEST

/* ---------------------------------------------------------------- errors in a child */

/* Runs fn(arg) in a child process with stderr going to a file; returns its exit status (-1 if
 * it did not exit) and the stderr text in msg. */
static int run_child(void (*fn)(void *), void *arg, char *msg, size_t cap) {
    char path[512];
    snprintf(path, sizeof path, "%s", st_test_path("stderr.txt"));
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (!freopen(path, "w", stderr)) _exit(99);
        fn(arg);
        _exit(0);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(msg, 1, cap - 1, f);
    msg[n] = 0;
    fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void parse_all(void *text) {
    char out[512];
    records(text, ',', 1, out, sizeof out, NULL);
}

START_TEST(test_unterminated_quote) {
    char msg[512];
    /* Reported at the line where the quote opened, not where the input ended. */
    ck_assert_int_eq(run_child(parse_all, "a,b\n\"open,\nmore\nlines\n", msg, sizeof msg), 1);
    ck_assert_str_eq(msg, "seqtrain-tokenize: t.csv:2: unterminated quoted field (its opening "
                          "quote is on this line)\n");
    /* A quote opened on the last byte. */
    ck_assert_int_eq(run_child(parse_all, "a,\"", msg, sizeof msg), 1);
    ck_assert_str_eq(msg, "seqtrain-tokenize: t.csv:1: unterminated quoted field (its opening "
                          "quote is on this line)\n");
}
END_TEST

/* ---------------------------------------------------------------- files */

/* One st_tok_read_csv call: the options the flags would set, and what it produced. */
typedef struct csv_run {
    const char *text;   /* the file's contents (len bytes, or strlen when 0) */
    size_t len;
    const char *label, *cols; /* --label-col, --text-cols */
    int header, quote;
    const char *classes; /* --classes, or NULL */
    char path[512];
    csv_layout L;
    labels lb;
    doclist docs;
    buf corpus;
} csv_run;

static void csv_setup(csv_run *r) {
    snprintf(r->path, sizeof r->path, "%s", st_test_path("in.csv"));
    FILE *f = fopen(r->path, "wb");
    ck_assert_ptr_nonnull(f);
    size_t n = r->len ? r->len : strlen(r->text);
    ck_assert_uint_eq(fwrite(r->text, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static void csv_read(void *arg) {
    csv_run *r = arg;
    opts o;
    memset(&o, 0, sizeof o);
    o.delim = ',';
    o.quote = r->quote;
    o.header = r->header;
    o.label_col = r->label;
    o.text_cols = r->cols;
    st_tok_ascii_case_init();
    st_tok_words_rehash(&r->lb.values, 64);
    if (r->classes) st_tok_fixed_classes(r->classes, &r->lb);
    size_t bytes = 0;
    st_tok_read_csv(&o, r->path, -1, &r->L, &r->lb, &r->docs, &r->corpus, &bytes);
    ck_assert_uint_eq(bytes, r->len ? r->len : strlen(r->text));
}

static void csv_free(csv_run *r) {
    free(r->L.text);
    st_tok_words_free(&r->lb.values);
    for (int c = 0; c < r->lb.n; c++) free(r->lb.names[c]);
    free(r->lb.names);
    if (r->classes) free((char *)r->lb.from);
    free(r->docs.d);
    free(r->corpus.p);
}

/* The text of document k (CSV texts live in the corpus buffer). */
static void ck_doc(const csv_run *r, size_t k, const char *text, int cls, long line) {
    const doc *d = &r->docs.d[k];
    ck_assert_int_eq((int)d->len, (int)strlen(text));
    ck_assert_int_eq(memcmp(r->corpus.p + d->off, text, d->len), 0);
    ck_assert_int_eq(d->cls, cls);
    ck_assert_int_eq(d->line, line);
    ck_assert_int_eq(d->split, -1);
    ck_assert_str_eq(d->src, r->path);
}

START_TEST(test_file) {
    /* BOM, CRLF, a header naming the columns, two text columns joined by one space, a quoted
     * comma and line break, a blank line (no record), labels in order of first appearance. */
    csv_run r = {.text = "\xEF\xBB\xBFlabel,text,extra\r\n"
                         "spam,\"buy, now\",x\r\n"
                         "ham,hello,y\r\n"
                         "\r\n"
                         "spam,\"multi\nline\",z\r\n",
                 .label = "label", .cols = "text,extra", .header = 1, .quote = 1};
    csv_setup(&r);
    csv_read(&r);
    ck_assert_int_eq(r.L.ncols, 3);
    ck_assert_int_eq(r.L.label, 0);
    ck_assert_int_eq(r.L.ntext, 2);
    ck_assert_int_eq(r.L.text[0], 1);
    ck_assert_int_eq(r.L.text[1], 2);
    ck_assert_uint_eq(r.docs.n, 3);
    ck_doc(&r, 0, "buy, now x", 0, 2);
    ck_doc(&r, 1, "hello y", 1, 3);
    ck_doc(&r, 2, "multi\nline z", 0, 5);
    ck_assert_int_eq(r.lb.n, 2);
    ck_assert_str_eq(r.lb.names[0], "spam");
    ck_assert_str_eq(r.lb.names[1], "ham");
    csv_free(&r);
}
END_TEST

START_TEST(test_fixed_classes) {
    /* --classes: ids by position whatever the order in the file; VALUE=NAME renames; columns
     * by number, without a header. */
    csv_run r = {.text = "spam,a\nham,b\n", .label = "1", .cols = "2", .header = 0, .quote = 1,
                 .classes = "ham,spam=junk"};
    csv_setup(&r);
    csv_read(&r);
    ck_assert_uint_eq(r.docs.n, 2);
    ck_doc(&r, 0, "a", 1, 1);
    ck_doc(&r, 1, "b", 0, 2);
    ck_assert_int_eq(r.lb.n, 2);
    ck_assert_str_eq(r.lb.names[0], "ham");
    ck_assert_str_eq(r.lb.names[1], "junk");
    csv_free(&r);
}
END_TEST

/* The message of a st_tok_read_csv that must fail, with "PATH" standing for the file. */
static void ck_csv_error(csv_run *r, int want_status, const char *want) {
    char msg[1024], exp[1024];
    csv_setup(r);
    ck_assert_int_eq(run_child(csv_read, r, msg, sizeof msg), want_status);
    /* expand PATH in want */
    size_t k = 0;
    for (const char *s = want; *s && k + 1 < sizeof exp;) {
        if (strncmp(s, "PATH", 4) == 0) {
            k += (size_t)snprintf(exp + k, sizeof exp - k, "%s", r->path);
            s += 4;
        } else {
            exp[k++] = *s++;
        }
    }
    exp[k] = 0;
    ck_assert_str_eq(msg, exp);
}

START_TEST(test_columns) {
    /* A missing and an extra field, against the first record. */
    csv_run a = {.text = "a,b,c\nd,e\n", .label = "1", .cols = "2", .quote = 1};
    ck_csv_error(&a, 1, "seqtrain-tokenize: PATH:2: 2 fields, expected 3 (as on line 1 of PATH)\n");
    csv_run b = {.text = "a,b\n\nc,d,e\n", .label = "1", .cols = "2", .quote = 1};
    ck_csv_error(&b, 1, "seqtrain-tokenize: PATH:3: 3 fields, expected 2 (as on line 1 of PATH)\n");
    /* With --no-quote the message says why a text may have split. */
    csv_run c = {.text = "a,b\nc,\"d,e\"\n", .label = "1", .cols = "2", .quote = 0};
    ck_csv_error(&c, 1, "seqtrain-tokenize: PATH:2: 3 fields, expected 2 (as on line 1 of PATH); "
                        "with --no-quote/--tsv a delimiter inside a text splits it\n");
    /* Column numbers out of range, names without --header, names not in the header. */
    csv_run d = {.text = "a,b,c\n", .label = "4", .cols = "2", .quote = 1};
    ck_csv_error(&d, 1, "seqtrain-tokenize: PATH:1: --label-col 4: the file has columns 1 to 3\n");
    csv_run e = {.text = "a,b\n", .label = "label", .cols = "2", .quote = 1};
    ck_csv_error(&e, 2, "seqtrain-tokenize: --label-col label: a column name needs --header (or "
                        "give its number, from 1) (see seqtrain-tokenize --help)\n");
    csv_run f = {.text = "label,text,extra\nx,y,z\n", .label = "label", .cols = "text,nope",
                 .header = 1, .quote = 1};
    ck_csv_error(&f, 1, "seqtrain-tokenize: PATH:1: --text-cols nope: no such column in the "
                        "header (label, text, extra)\n");
    /* A --text-cols list without any column is a command-line mistake. */
    csv_run g = {.text = "a,b\n", .label = "1", .cols = ",", .quote = 1};
    ck_csv_error(&g, 2, "seqtrain-tokenize: --text-cols ,: no column (see seqtrain-tokenize "
                        "--help)\n");
}
END_TEST

START_TEST(test_labels_and_files) {
    csv_run a = {.text = "spam,x\n,y\n", .label = "1", .cols = "2", .quote = 1};
    ck_csv_error(&a, 1, "seqtrain-tokenize: PATH:2: empty label in column 1\n");
    csv_run b = {.text = "ham,x\nother,y\n", .label = "1", .cols = "2", .quote = 1,
                 .classes = "ham,spam=junk"};
    ck_csv_error(&b, 1, "seqtrain-tokenize: PATH:2: label 'other' (column 1) is not a class of "
                        "--classes ham,spam=junk\n");
    csv_run c = {.text = "", .label = "1", .cols = "2", .quote = 1};
    ck_csv_error(&c, 1, "seqtrain-tokenize: PATH: empty file: no records\n");
    /* A BOM and blank lines only: still no record. */
    csv_run d = {.text = "\xEF\xBB\xBF\n\r\n", .label = "1", .cols = "2", .quote = 1};
    ck_csv_error(&d, 1, "seqtrain-tokenize: PATH: empty file: no records\n");
    csv_run e = {.text = "label,text\n", .label = "1", .cols = "2", .header = 1, .quote = 1};
    ck_csv_error(&e, 1, "seqtrain-tokenize: PATH: no records after the header\n");
    /* A NUL byte: binary, reported with its line and offset. */
    csv_run f = {.text = "a,b\nc,d\0e\n", .len = 10, .label = "1", .cols = "2", .quote = 1};
    ck_csv_error(&f, 1, "seqtrain-tokenize: PATH:2: NUL byte at offset 7: binary data, not CSV "
                        "text\n");
    /* An unterminated quote through the whole file reader. */
    csv_run g = {.text = "a,b\nc,\"d\n", .label = "1", .cols = "2", .quote = 1};
    ck_csv_error(&g, 1, "seqtrain-tokenize: PATH:2: unterminated quoted field (its opening "
                        "quote is on this line)\n");
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("tokenize_csv");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {{"plain", test_plain},
                 {"quoted", test_quoted},
                 {"line_breaks", test_line_breaks},
                 {"no_quote_and_tabs", test_no_quote_and_tabs},
                 {"unterminated_quote", test_unterminated_quote},
                 {"file", test_file},
                 {"fixed_classes", test_fixed_classes},
                 {"columns", test_columns},
                 {"labels_and_files", test_labels_and_files}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        TCase *tc = tcase_create(cases[k].name);
        tcase_add_test(tc, cases[k].fn);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void) { return st_test_run(suite()); }
