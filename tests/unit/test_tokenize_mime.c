/*
 * test_tokenize_mime.c - the mail decoding of seqtrain-tokenize --mail (tools/tokenize/mime.c),
 * through its one entry point st_tok_mail_entity, as main.c calls it: header selection and
 * folding, RFC 2047 subjects, quoted-printable and base64 bodies (with their malformed and
 * truncated forms), multipart boundaries, attached messages and the nesting limit, HTML
 * stripping, and the line-break normalization that runs before and after.
 *
 * Every expected string is the exact byte output: the decoder appends '\n' after each text it
 * keeps, and charsets are not converted (bytes stay bytes), so those details are asserted too.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tokenize/mime.h"

/* The text st_tok_mail_entity extracts from msg as a top-level message, NUL-terminated
 * (free()). The input is copied to an exact-size block so ASan sees any read past its end. */
static char *mail_text(const char *msg) {
    size_t n = strlen(msg);
    char *in = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(in);
    memcpy(in, msg, n);
    buf out = {0};
    st_tok_mail_entity(in, in + n, 1, 0, &out);
    st_tok_buf_putc(&out, 0);
    free(in);
    return out.p;
}

/* Asserts the exact text of msg (ck_assert_str_eq prints both on failure). */
#define ck_assert_mail(msg, want)                                                              \
    do {                                                                                       \
        char *got_ = mail_text(msg);                                                           \
        ck_assert_str_eq(got_, want);                                                          \
        free(got_);                                                                            \
    } while (0)

START_TEST(test_headers) {
    /* Only the Subject survives; the body follows the blank line and ends with '\n'. */
    ck_assert_mail("From: alice@example.com\nSubject: Hello world\nTo: bob\n\nBody text\n",
                   "Hello world\nBody text\n\n");
    /* An mbox "From " separator line before the headers is not a header. */
    ck_assert_mail("From alice Mon Jan  1 00:00:00 2024\nSubject: s\n\nb", "s\nb\n");
    /* Field names are case-insensitive; a Subject of only spaces gives an empty line. */
    ck_assert_mail("SUBJECT:   spaced   \n\nx", "spaced\nx\n");
    /* A first line that is not "Name:" ends the header block: all of it is body. */
    ck_assert_mail("Hello there\nmore\n", "Hello there\nmore\n\n");
    /* Headers only, no blank line: the Subject and nothing else. */
    ck_assert_mail("Subject: only\n", "only\n");
    ck_assert_mail("", "");
}
END_TEST

START_TEST(test_folding) {
    /* Continuation lines (leading space or tab) join the field with one space. */
    ck_assert_mail("Subject: part one\n\tpart two\n   part three\n\nx",
                   "part one part two part three\nx\n");
    /* A folded Content-Type still takes effect (here: its boundary on the next line). */
    ck_assert_mail("Content-Type: multipart/mixed;\n boundary=\"B\"\n\n--B\n\nin\n--B--\n",
                   "in\n");
    /* A whitespace-only line ends the headers rather than continuing the field. */
    ck_assert_mail("Subject: a\n \nbody", "a\nbody\n");
}
END_TEST

START_TEST(test_rfc2047) {
    /* B and Q encoded words decoded; the literal space between them kept; the charset
     * ignored: ISO-8859-1 0xE9 stays the byte 0xE9 (utf8.c later makes it U+FFFD). */
    ck_assert_mail("Subject: =?utf-8?B?SGVsbG8=?= =?iso-8859-1?Q?caf=E9_au_lait?=\n\nx",
                   "Hello caf\xE9 au lait\nx\n");
    /* Encoding letters are case-insensitive. */
    ck_assert_mail("Subject: =?UTF-8?b?SGk=?=\n\n", "Hi\n");
    ck_assert_mail("Subject: =?utf-8?B?QUJD?=\n\n", "ABC\n");
    /* Unknown encoding, or no closing "?=" (truncated): kept literally. */
    ck_assert_mail("Subject: =?utf-8?X?abc?=\n\n", "=?utf-8?X?abc?=\n");
    ck_assert_mail("Subject: =?utf-8?B?SGk\n\n", "=?utf-8?B?SGk\n");
    ck_assert_mail("Subject: =?utf-8\n\n", "=?utf-8\n");
}
END_TEST

START_TEST(test_quoted_printable) {
    /* Soft line breaks (also with trailing blanks), hex escapes in either case, '_' is NOT a
     * space in a body (only in RFC 2047 Q words), malformed escapes stay literal. */
    ck_assert_mail("Content-Transfer-Encoding: quoted-printable\n\n"
                   "soft=\nbreak caf=C3=a9 =3D x=ZZ y_z =  \nend\n",
                   "softbreak caf\xC3\xA9 = x=ZZ y_z end\n\n");
    /* A lone '=' at the very end is dropped; "=A" truncated stays. */
    ck_assert_mail("Content-Transfer-Encoding: Quoted-Printable\n\nabc=", "abc\n");
    ck_assert_mail("Content-Transfer-Encoding: quoted-printable\n\nab=A", "ab=A\n");
    /* The declared charset changes nothing: Latin-1 bytes come out as they are. */
    ck_assert_mail("Content-Type: text/plain; charset=iso-8859-1\n"
                   "Content-Transfer-Encoding: quoted-printable\n\ncaf=E9\n",
                   "caf\xE9\n\n");
}
END_TEST

START_TEST(test_base64) {
    /* Decoded across lines; the decoder adds '\n' after the decoded bytes, then the entity's
     * own '\n'. */
    ck_assert_mail("Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
                   "SGVsbG8g\r\nd29ybGQ=\n",
                   "Hello world\n\n");
    /* A plain-text footer after the base64 lines (mailing lists) is kept as is. */
    ck_assert_mail("Content-Transfer-Encoding: base64\n\nSGk=\n-- \nfooter text\n",
                   "Hi\n-- \nfooter text\n\n");
    /* Truncated: "SGVsbG" is 36 bits, 4 whole bytes; the 4 left-over bits are dropped. */
    ck_assert_mail("Content-Transfer-Encoding: base64\n\nSGVsbG", "Hell\n\n");
    /* Whole groups without padding: the last byte completes exactly at the end. */
    ck_assert_mail("Content-Transfer-Encoding: base64\n\nQUJD\nREVG\n", "ABCDEF\n\n");
    /* Padding ends one run and a new one may follow on the same line. */
    ck_assert_mail("Content-Transfer-Encoding: base64\n\nSGk=SGk=\n", "HiHi\n\n");
    /* A non-base64 first line: nothing decoded, the whole body kept as text. */
    ck_assert_mail("Content-Transfer-Encoding: base64\n\n*not base64*\n",
                   "\n*not base64*\n\n");
}
END_TEST

/* A message with a preamble, a plain part, an HTML part, an image and an epilogue. */
static const char multipart_msg[] =
    "Subject: m\n"
    "Content-Type: multipart/alternative; boundary=\"XYZ\"\n"
    "\n"
    "preamble\n"
    "--XYZ\n"
    "Content-Type: text/plain\n"
    "Subject: not kept (not a top-level header)\n"
    "\n"
    "plain part\n"
    "--XYZ\n"
    "Content-Type: text/html\n"
    "\n"
    "<p>Hi &amp; <b>bye</b></p><script>var x;</script>&#233;\n"
    "--XYZ\n"
    "Content-Type: image/png\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "iVBORw0KGgo=\n"
    "--XYZ--\n"
    "epilogue\n";

START_TEST(test_multipart) {
    /* Preamble, image and epilogue dropped; the line break before a delimiter belongs to it. */
    ck_assert_mail(multipart_msg, "m\nplain part\n Hi &  bye   \xC3\xA9\n");
    /* Unquoted boundary, a base64 part inside; no close delimiter: the last part runs to the
     * end. */
    ck_assert_mail("Content-Type: multipart/mixed; boundary=b1\n\n--b1\n"
                   "Content-Transfer-Encoding: base64\n\nSGk=\n--b1\n\nlast part\n",
                   "Hi\n\nlast part\n\n");
    /* A boundary that never appears: the body is read as plain text. */
    ck_assert_mail("Content-Type: multipart/mixed; boundary=abc\n\nno parts here\n",
                   "no parts here\n\n");
    /* "xboundary=" is not the boundary parameter; a multipart without one is not split, and
     * not being text/... it is skipped like an attachment. */
    ck_assert_mail("Content-Type: multipart/mixed; xboundary=q\n\n--q\n\nin\n--q--\n", "");
    ck_assert_mail("Content-Type: multipart/mixed; BOUNDARY = q\n\n--q\n\nin\n--q--\n", "in\n");
    /* A non-text top-level type is skipped entirely (but the Subject was already kept). */
    ck_assert_mail("Subject: s\nContent-Type: application/pdf\n\n%PDF-1.4\n", "s\n");
}
END_TEST

START_TEST(test_rfc822_and_depth) {
    /* An attached message is read as a message: its own Subject counts. */
    ck_assert_mail("Content-Type: multipart/mixed; boundary=B\n\n--B\n"
                   "Content-Type: message/rfc822\n\nSubject: inner\n\ninner body\n--B--\n",
                   "inner\ninner body\n");
    /* Eight nested message/rfc822 wrappers are followed; the ninth is past MAIL_MAX_DEPTH and
     * is skipped like any non-text part. */
    for (int wrappers = 8; wrappers <= 9; wrappers++) {
        buf m = {0};
        for (int k = 0; k < wrappers; k++) {
            const char *w = "Content-Type: message/rfc822\n\n";
            st_tok_buf_put(&m, w, strlen(w));
        }
        const char *inner = "Subject: deep\n\ntext";
        st_tok_buf_put(&m, inner, strlen(inner) + 1);
        ck_assert_mail(m.p, wrappers == 8 ? "deep\ntext\n" : "");
        free(m.p);
    }
}
END_TEST

START_TEST(test_html) {
    /* Comments dropped, tags become one space, entities decoded (named, decimal, hex),
     * invalid code points a space, unknown entities and ones without ';' literal. */
    ck_assert_mail("Content-Type: text/html\n\n"
                   "a<!-- x -->b&nbsp;&lt;&#x41;&#65;&#0;&#1114112;&bogus;&#66 <STYLE>p{}</style>c",
                   "a b <AA  &bogus;&#66  c\n");
    /* An unterminated comment or tag swallows the rest of the part. */
    ck_assert_mail("Content-Type: text/html\n\nkeep<!-- never closed", "keep \n");
    ck_assert_mail("Content-Type: TEXT/HTML; charset=utf-8\n\nkeep<b", "keep \n");
    /* A 4-byte code point from a numeric entity. */
    ck_assert_mail("Content-Type: text/html\n\n&#x1F600;", "\xF0\x9F\x98\x80\n");
}
END_TEST

START_TEST(test_crlf) {
    char s[] = "a\r\nb\rc\n\r\n";
    size_t n = st_tok_crlf_to_lf(s, strlen(s));
    ck_assert_uint_eq(n, 7);
    ck_assert_int_eq(memcmp(s, "a\nb\nc\n\n", 7), 0);
    /* A CRLF mail reads like its LF form once normalized (as main.c does before decoding). */
    char m[] = "Subject: x\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=\r\nb\r\n";
    size_t mn = st_tok_crlf_to_lf(m, strlen(m));
    m[mn] = 0;
    ck_assert_mail(m, "x\nab\n\n");
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("tokenize_mime");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {{"headers", test_headers},
                 {"folding", test_folding},
                 {"rfc2047", test_rfc2047},
                 {"quoted_printable", test_quoted_printable},
                 {"base64", test_base64},
                 {"multipart", test_multipart},
                 {"rfc822_and_depth", test_rfc822_and_depth},
                 {"html", test_html},
                 {"crlf", test_crlf}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        TCase *tc = tcase_create(cases[k].name);
        tcase_add_test(tc, cases[k].fn);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(void) { return st_test_run(suite()); }
