/*
 * opts.c - the command line of seqtrain-tokenize: usage text, getopt_long table, value
 * parsing, and the checks between flags (one kind of input, flags that go with it, fractions
 * that leave training data).
 *
 * Data layout: one opts struct (opts.h) owns what it allocated (class names and directory
 * lists, the unescaped filters, the wide separator list); the other strings point into argv.
 * The separator set is kept twice for speed: a 128-byte table for ASCII and a sorted array of
 * the non-ASCII code points, searched by bisection (tokens.c).
 *
 * What it does not do: read any file (--vocab-from's options are applied by vocab.c, which
 * calls st_tok_set_separators again), or accept a --split of more than one character.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenize/opts.h"
#include "tokenize/tok.h"
#include "tokenize/utf8.h"

/* Keras' Tokenizer default filters (the tab and newline included). */
#define KERAS_FILTERS "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n"

/* The --help text (stdout) and what a usage mistake points to. */
static void usage(FILE *f) {
    fprintf(f,
        "usage: " PROG " --class NAME=DIR[,DIR...]... [--test-class NAME=DIR...]... --out FILE.h5 [options]\n"
        "       " PROG " --csv FILE --label-col COL --text-cols COLS [--test-csv FILE] --out FILE.h5 [options]\n"
        "       " PROG " --text FILE --seq-len T [--stride S] [--level char] --out FILE.h5 [options]\n"
        "       " PROG " [--mail] --show-text FILE...\n"
        "\n"
        "Tokenizes a corpus with Keras Tokenizer + pad_sequences semantics and writes a seqtrain\n"
        "dataset: /train, /test (and /valid), /vocab (id -> word), /classes, OUT.vocab.txt.\n"
        "\n"
        "Directories (one document per file):\n"
        "  --class NAME=DIRS   a class and its directories (comma-separated); ids in flag order\n"
        "  --test-class NAME=DIRS  documents of class NAME for /test (the input's own test set)\n"
        "  --mail              files are RFC 822 mails: headers dropped except Subject,\n"
        "                      MIME base64/quoted-printable text parts decoded, HTML stripped,\n"
        "                      non-text parts skipped\n"
        "  --suffix SUF        only read files whose name ends with SUF (e.g. .txt)\n"
        "CSV (one document per record; RFC 4180 quoting, CRLF or LF):\n"
        "  --csv FILE          the records; --test-csv FILE: the input's own test set\n"
        "  --label-col COL     the label column: a number from 1, or a name (needs --header)\n"
        "  --text-cols COLS    text columns (numbers or names, comma-separated), joined by a space\n"
        "  --header / --no-header  the first record names the columns (default --no-header)\n"
        "  --delimiter C       field separator (default ','; \\t for a tab)\n"
        "  --tsv               tab-separated, no quoting: every line is a record (SMS Spam\n"
        "                      Collection); same as --delimiter '\\t' --no-quote\n"
        "  --no-quote          '\"' is an ordinary character\n"
        "  --classes A,B,...   the label values in class id order (VALUE=NAME renames a class);\n"
        "                      default: the labels in order of first appearance\n"
        "Plain text for a language model (y = the next id at every step, y int32 (N, T)):\n"
        "  --text FILE         the corpus; --test-text FILE: a test corpus of its own\n"
        "  --seq-len T         ids per row\n"
        "  --stride S          ids between the starts of consecutive rows (default T)\n"
        "Tokenizer (Keras' Tokenizer):\n"
        "  --level word|char   words (default) or characters (Keras char_level: no filters)\n"
        "  --num-words N       keep ids < N (Keras num_words); 0 = all (default 0)\n"
        "  --oov-token TOK     out-of-vocabulary token, id 1 (default: none, unknown words dropped)\n"
        "  --lower / --no-lower    Python's str.lower() first (default --lower)\n"
        "  --filters STR       characters replaced by the split char; \\t \\n \\r \\\\ escapes\n"
        "                      (default: Keras' !\"#$%%&()*+,-./:;<=>?@[\\]^_`{|}~ tab newline)\n"
        "  --split C           the split character (default space)\n"
        "  --vocab-from FILE   apply the vocabulary, classes and tokenizer options of an earlier\n"
        "                      dataset (FILE.h5) or of a FILE.vocab.txt (+ FILE.classes.txt)\n"
        "pad_sequences:\n"
        "  --maxlen N          row length; 0 = the longest document (default 0, or --vocab-from's)\n"
        "  --padding pre|post      where zeros go (default pre)\n"
        "  --truncating pre|post   which end of long documents is cut (default pre)\n"
        "Splits and output:\n"
        "  --test-fraction F   share of each class in /test (default 0.2; 0 with a test input;\n"
        "                      1 = everything, with --vocab-from)\n"
        "  --valid-fraction F  share of each class in /valid (default 0: no /valid)\n"
        "  --seed S            split seed (default 42)\n"
        "  --no-shuffle        keep each split in input order (files class by class, CSV\n"
        "                      records in file order): with --test-fraction 0 the vocabulary\n"
        "                      is then exactly Keras' fit_on_texts on the input in its order\n"
        "  --out FILE          the dataset; also writes FILE.vocab.txt (line k: word of id k)\n"
        "                      and FILE.classes.txt (line k: class k-1)\n"
        "  --manifest FILE     also write FILE: one line per row, \"split row class source\"\n"
        "  --show-text FILE... print the text the tokenizer sees in each FILE (after --mail\n"
        "                      decoding; with several files, each text ends with a NUL byte)\n"
        "                      and exit\n"
        "  -h, --help          this text\n"
        "\n"
        "The vocabulary is built on /train only: words by count, ties in first-seen order,\n"
        "ids from 1 (2 with an OOV token); vocab_size = num_words if given, else words + 1.\n"
        "Text is decoded as UTF-8 with errors=\"replace\" (ill-formed bytes become U+FFFD).\n"
        "Exit status: 0 written, 1 bad data or a failed write (one line says why; outputs are\n"
        "written atomically, nothing half-written), 2 bad command line.\n");
}


/* An integer flag value in [lo, hi]; anything else (trailing text, overflow) is a usage error. */
static long parse_long(const char *flag, const char *s, long lo, long hi) {
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno || e == s || *e || v < lo || v > hi)
        st_tok_usage_error("%s %s: expected an integer in [%ld, %ld]", flag, s, lo, hi);
    return v;
}

/* A fraction flag value in [0, 1] (NaN fails the range test too). */
static double parse_frac(const char *flag, const char *s) {
    char *e;
    errno = 0;
    double v = strtod(s, &e);
    if (errno || e == s || *e || !(v >= 0.0 && v <= 1.0))
        st_tok_usage_error("%s %s: expected a fraction in [0, 1]", flag, s);
    return v;
}

/* The index of --class NAME, or -1. */
static int find_class(const opts *o, const char *name) {
    for (int k = 0; k < o->ncls; k++)
        if (strcmp(o->cls[k].name, name) == 0) return k;
    return -1;
}

/* --class NAME=DIRS (test = 0) or --test-class NAME=DIRS (test = 1, NAME given by --class). */
static void add_class(opts *o, const char *arg, int test) {
    const char *flag = test ? "--test-class" : "--class";
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        st_tok_usage_error("%s %s: expected NAME=DIR[,DIR...]", flag, arg);
    char *name = st_tok_xrealloc(NULL, (size_t)(eq - arg) + 1);
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = 0;
    int k = find_class(o, name);
    if (test && k < 0) st_tok_usage_error("%s %s: no --class %s before it", flag, arg, name);
    if (!test && k >= 0) st_tok_usage_error("--class %s: class named twice", name);
    if (strchr(name, '\n')) st_tok_usage_error("%s: a class name cannot hold a newline", flag);
    if (!test) {
        o->cls = st_tok_xrealloc(o->cls, sizeof *o->cls * (size_t)(o->ncls + 1));
        memset(&o->cls[o->ncls], 0, sizeof o->cls[0]);
        o->cls[o->ncls].name = name;
        k = o->ncls++;
    } else {
        free(name);
    }
    tclass *c = &o->cls[k];
    char ***dirs = test ? &c->tdirs : &c->dirs;
    int *nd = test ? &c->ntdirs : &c->ndirs, before = *nd;
    char *list = st_tok_xstrdup(eq + 1), *save = NULL;
    for (char *d = strtok_r(list, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
        *dirs = st_tok_xrealloc(*dirs, sizeof **dirs * (size_t)(*nd + 1));
        (*dirs)[(*nd)++] = st_tok_xstrdup(d);
    }
    free(list);
    if (*nd == before) st_tok_usage_error("%s %s: no directory", flag, arg);
}

/* Resolves \t \n \r \\ in s (other backslashes stay, with the byte after them). */
static char *unescape(const char *s) {
    char *r = st_tok_xrealloc(NULL, strlen(s) + 1), *o = r;
    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            switch (s[1]) {
            case 't': *o++ = '\t'; s++; continue;
            case 'n': *o++ = '\n'; s++; continue;
            case 'r': *o++ = '\r'; s++; continue;
            case '\\': *o++ = '\\'; s++; continue;
            default: break;
            }
        }
        *o++ = *s;
    }
    *o = 0;
    return r;
}

/* Code point order: sep_wide is sorted once, then searched with bsearch per character. */
int st_tok_cmp_cp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : (x > y);
}

/* The separator set: every character of filters, and the split character. Filters are code
 * points (a non-ASCII filter such as U+00AB is one character, as in Python). */
void st_tok_set_separators(opts *o) {
    memset(o->sep_ascii, 0, sizeof o->sep_ascii);
    free(o->sep_wide);
    o->sep_wide = NULL;
    o->nsep_wide = 0;
    buf norm = {0};
    st_tok_normalize(o->filters, strlen(o->filters), 0, &norm);
    const unsigned char *s = (const unsigned char *)norm.p;
    for (size_t i = 0; i < norm.n;) {
        uint32_t c;
        i += st_tok_utf8_next(s + i, norm.n - i, &c);
        if (c < 128) {
            o->sep_ascii[c] = 1;
        } else {
            o->sep_wide = st_tok_xrealloc(o->sep_wide, sizeof *o->sep_wide * (o->nsep_wide + 1));
            o->sep_wide[o->nsep_wide++] = c;
        }
    }
    free(norm.p);
    if (o->split < 128) {
        o->sep_ascii[o->split] = 1;
    } else {
        o->sep_wide = st_tok_xrealloc(o->sep_wide, sizeof *o->sep_wide * (o->nsep_wide + 1));
        o->sep_wide[o->nsep_wide++] = o->split;
    }
    if (o->nsep_wide > 1) qsort(o->sep_wide, o->nsep_wide, sizeof *o->sep_wide, st_tok_cmp_cp);
}

/* --split: exactly one character (code point). */
uint32_t st_tok_parse_split(const char *arg) {
    char *s = unescape(arg);
    size_t n = strlen(s);
    uint32_t c = 0;
    size_t l = n ? st_tok_utf8_next((const unsigned char *)s, n, &c) : 0;
    free(s);
    if (n == 0 || l != n || c == REPLACEMENT)
        st_tok_usage_error("--split '%s': expected one character", arg);
    return c;
}

/* getopt_long with opterr = 0: every message is ours, one line with a pointer to --help. */
void st_tok_parse_args(opts *o, int argc, char **argv) {
    enum {
        OPT_CLASS = 1000, OPT_TCLASS, OPT_MAIL, OPT_SUFFIX, OPT_NUMW, OPT_OOV, OPT_MAXLEN, OPT_PAD,
        OPT_TRUNC, OPT_LOWER, OPT_NOLOWER, OPT_FILTERS, OPT_SPLIT, OPT_TEST, OPT_VALID, OPT_SEED,
        OPT_OUT, OPT_MANIFEST, OPT_SHOW, OPT_CSV, OPT_TCSV, OPT_LABEL, OPT_TEXTCOLS, OPT_HEADER,
        OPT_NOHEADER, OPT_DELIM, OPT_TSV, OPT_NOQUOTE, OPT_CLASSES, OPT_TEXT, OPT_TTEXT, OPT_SEQLEN,
        OPT_STRIDE, OPT_LEVEL, OPT_VOCABFROM, OPT_NOSHUFFLE
    };
    static const struct option lo[] = {
        {"class", required_argument, 0, OPT_CLASS},     {"test-class", required_argument, 0, OPT_TCLASS},
        {"mail", no_argument, 0, OPT_MAIL},             {"suffix", required_argument, 0, OPT_SUFFIX},
        {"num-words", required_argument, 0, OPT_NUMW},  {"oov-token", required_argument, 0, OPT_OOV},
        {"maxlen", required_argument, 0, OPT_MAXLEN},   {"padding", required_argument, 0, OPT_PAD},
        {"truncating", required_argument, 0, OPT_TRUNC},
        {"lower", no_argument, 0, OPT_LOWER},           {"no-lower", no_argument, 0, OPT_NOLOWER},
        {"filters", required_argument, 0, OPT_FILTERS}, {"split", required_argument, 0, OPT_SPLIT},
        {"test-fraction", required_argument, 0, OPT_TEST},
        {"valid-fraction", required_argument, 0, OPT_VALID},
        {"seed", required_argument, 0, OPT_SEED},       {"out", required_argument, 0, OPT_OUT},
        {"manifest", required_argument, 0, OPT_MANIFEST},
        {"show-text", no_argument, 0, OPT_SHOW},
        {"csv", required_argument, 0, OPT_CSV},         {"test-csv", required_argument, 0, OPT_TCSV},
        {"label-col", required_argument, 0, OPT_LABEL}, {"text-cols", required_argument, 0, OPT_TEXTCOLS},
        {"header", no_argument, 0, OPT_HEADER},         {"no-header", no_argument, 0, OPT_NOHEADER},
        {"delimiter", required_argument, 0, OPT_DELIM}, {"tsv", no_argument, 0, OPT_TSV},
        {"no-quote", no_argument, 0, OPT_NOQUOTE},      {"classes", required_argument, 0, OPT_CLASSES},
        {"text", required_argument, 0, OPT_TEXT},       {"test-text", required_argument, 0, OPT_TTEXT},
        {"seq-len", required_argument, 0, OPT_SEQLEN},  {"stride", required_argument, 0, OPT_STRIDE},
        {"level", required_argument, 0, OPT_LEVEL},     {"vocab-from", required_argument, 0, OPT_VOCABFROM},
        {"no-shuffle", no_argument, 0, OPT_NOSHUFFLE},
        {"help", no_argument, 0, 'h'},                {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->shuffle = 1;
    o->lower = 1;
    o->split = ' ';
    o->test_frac = 0.2;
    o->seed = 42;
    o->header = -1;
    o->delim = ',';
    o->quote = 1;
    o->filters = st_tok_xstrdup(KERAS_FILTERS);
    int c, pad_set = 0, layout_flag = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        /* Tokenizer options, which --vocab-from takes from its file instead. */
        for (size_t k = 0; lo[k].name; k++)
            if (lo[k].val == c && (c == OPT_NUMW || c == OPT_OOV || c == OPT_LOWER ||
                                   c == OPT_NOLOWER || c == OPT_FILTERS || c == OPT_SPLIT ||
                                   c == OPT_LEVEL))
                o->tok_flag = lo[k].name;
        switch (c) {
        case OPT_CLASS: add_class(o, optarg, 0); break;
        case OPT_TCLASS: add_class(o, optarg, 1); break;
        case OPT_MAIL: o->mail = 1; break;
        case OPT_SUFFIX: o->suffix = optarg; break;
        case OPT_NUMW: o->num_words = parse_long("--num-words", optarg, 0, INT32_MAX); break;
        case OPT_OOV:
            if (!*optarg) st_tok_usage_error("--oov-token: empty token");
            o->oov = optarg;
            break;
        case OPT_MAXLEN: o->maxlen = parse_long("--maxlen", optarg, 0, 1L << 24); pad_set = 1; break;
        case OPT_PAD:
        case OPT_TRUNC: {
            int post = strcmp(optarg, "post") == 0;
            if (!post && strcmp(optarg, "pre") != 0)
                st_tok_usage_error("%s %s: expected pre or post", c == OPT_PAD ? "--padding" : "--truncating",
                            optarg);
            if (c == OPT_PAD) o->pad_post = post;
            else o->trunc_post = post;
            pad_set = 1;
            break;
        }
        case OPT_LOWER: o->lower = 1; break;
        case OPT_NOLOWER: o->lower = 0; break;
        case OPT_FILTERS:
            free(o->filters);
            o->filters = unescape(optarg);
            break;
        case OPT_SPLIT: o->split = st_tok_parse_split(optarg); break;
        case OPT_TEST:
            o->test_frac = parse_frac("--test-fraction", optarg);
            o->test_frac_set = 1;
            break;
        case OPT_VALID: o->valid_frac = parse_frac("--valid-fraction", optarg); break;
        case OPT_SEED: {
            char *e;
            errno = 0;
            unsigned long long v = strtoull(optarg, &e, 10);
            if (errno || e == optarg || *e || optarg[0] == '-')
                st_tok_usage_error("--seed %s: expected a non-negative integer", optarg);
            o->seed = v;
            break;
        }
        case OPT_OUT: o->out = optarg; break;
        case OPT_MANIFEST: o->manifest = optarg; break;
        case OPT_SHOW: o->show = 1; break;
        case OPT_CSV: o->csv = optarg; break;
        case OPT_TCSV: o->test_csv = optarg; break;
        case OPT_LABEL: o->label_col = optarg; break;
        case OPT_TEXTCOLS: o->text_cols = optarg; break;
        case OPT_HEADER: o->header = 1; break;
        case OPT_NOHEADER: o->header = 0; break;
        case OPT_DELIM: {
            char *d = unescape(optarg);
            if (strlen(d) != 1 || d[0] == '"' || d[0] == '\n' || d[0] == '\r')
                st_tok_usage_error("--delimiter '%s': expected one byte other than '\"' and line breaks",
                            optarg);
            o->delim = d[0];
            free(d);
            layout_flag = 1;
            break;
        }
        case OPT_TSV: o->delim = '\t'; o->quote = 0; layout_flag = 1; break;
        case OPT_NOQUOTE: o->quote = 0; layout_flag = 1; break;
        case OPT_CLASSES: o->classes_arg = optarg; break;
        case OPT_TEXT: o->text = optarg; break;
        case OPT_TTEXT: o->test_text = optarg; break;
        case OPT_SEQLEN: o->seq_len = parse_long("--seq-len", optarg, 1, 1L << 24); break;
        case OPT_STRIDE: o->stride = parse_long("--stride", optarg, 1, 1L << 24); break;
        case OPT_LEVEL:
            if (strcmp(optarg, "word") != 0 && strcmp(optarg, "char") != 0)
                st_tok_usage_error("--level %s: expected word or char", optarg);
            o->char_level = optarg[0] == 'c';
            break;
        case OPT_VOCABFROM: o->vocab_from = optarg; break;
        case OPT_NOSHUFFLE: o->shuffle = 0; break;
        case 'h': usage(stdout); exit(0);
        default:
            st_tok_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    st_tok_ascii_case_init();
    if (o->show) {
        if (optind == argc) st_tok_usage_error("--show-text: no file given");
        return;
    }
    if (optind < argc) st_tok_usage_error("unexpected argument '%s'", argv[optind]);
    int kinds = (o->ncls > 0) + (o->csv != NULL) + (o->text != NULL);
    if (kinds != 1)
        st_tok_usage_error(kinds ? "give one kind of input: --class, --csv or --text"
                          : "no input: give --class, --csv or --text");
    o->mode = o->ncls ? MODE_DIRS : o->csv ? MODE_CSV : MODE_TEXT;
    if (!o->out) st_tok_usage_error("no --out given");
    if (o->mode != MODE_CSV && (o->test_csv || o->label_col || o->text_cols || o->header >= 0 ||
                                layout_flag || o->classes_arg))
        st_tok_usage_error("--test-csv, --label-col, --text-cols, --header, --delimiter, --tsv, "
                    "--no-quote and --classes go with --csv");
    if (o->mode != MODE_TEXT && (o->test_text || o->seq_len || o->stride))
        st_tok_usage_error("--test-text, --seq-len and --stride go with --text");
    if (o->mode != MODE_DIRS && (o->mail || o->suffix))
        st_tok_usage_error("--mail and --suffix go with --class");
    if (o->mode == MODE_CSV && (!o->label_col || !o->text_cols))
        st_tok_usage_error("--csv needs --label-col and --text-cols");
    if (o->mode == MODE_TEXT) {
        if (!o->seq_len) st_tok_usage_error("--text needs --seq-len");
        if (!o->stride) o->stride = o->seq_len;
        if (pad_set) st_tok_usage_error("--maxlen, --padding and --truncating do not apply to --text "
                                 "(rows are --seq-len ids, never padded)");
    }
    int has_test = o->test_csv || o->test_text;
    for (int k = 0; k < o->ncls; k++) has_test |= o->cls[k].ntdirs > 0;
    if (has_test) {
        if (o->test_frac_set && o->test_frac > 0)
            st_tok_usage_error("--test-fraction %g: the input has a test set of its own", o->test_frac);
        o->test_frac = 0;
    }
    if (o->test_frac >= 1.0 && !(o->vocab_from && o->valid_frac == 0))
        st_tok_usage_error("--test-fraction 1 puts every row in /test: only with --vocab-from, without "
                    "--valid-fraction");
    if (o->test_frac < 1.0 && o->test_frac + o->valid_frac >= 1.0)
        st_tok_usage_error("--test-fraction + --valid-fraction = %g leaves no training data",
                    o->test_frac + o->valid_frac);
    st_tok_set_separators(o);
}

/* Frees what parse_args (and --vocab-from) allocated; the rest points into argv. */
void st_tok_opts_free(opts *o) {
    for (int c = 0; c < o->ncls; c++) {
        for (int k = 0; k < o->cls[c].ndirs; k++) free(o->cls[c].dirs[k]);
        for (int k = 0; k < o->cls[c].ntdirs; k++) free(o->cls[c].tdirs[k]);
        free(o->cls[c].dirs);
        free(o->cls[c].tdirs);
        free(o->cls[c].name);
    }
    free(o->cls);
    free(o->filters);
    free(o->sep_wide);
    free(o->oov_owned);
}
