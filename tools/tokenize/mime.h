/*
 * mime.h - the text of a mail (--mail): what seqtrain-tokenize reads from an RFC 822 message.
 */
#ifndef SEQTRAIN_TOKENIZE_MIME_H
#define SEQTRAIN_TOKENIZE_MIME_H

#include <stddef.h>

#include "tokenize/tok.h"

/* Appends the text of one MIME entity [p, end) to out. top: a message's own headers (an mbox
 * "From " line first is skipped), whose Subject is kept as text, RFC 2047 encoded words
 * decoded; every other header field is dropped. The body: multipart/... split on its boundary
 * and each part read in turn, message/rfc822 read as a message, text/... decoded from its
 * Content-Transfer-Encoding (base64, quoted-printable), text/html stripped of tags; every other
 * type is skipped. Each text ends with '\n'. depth: nesting so far (0 for a file); deeper than
 * MAIL_MAX_DEPTH (8) multiparts are read as plain text and messages are skipped.
 * Expects LF line breaks: callers pass the file through st_tok_crlf_to_lf first. */
void st_tok_mail_entity(const char *p, const char *end, int top, int depth, buf *out);
/* Mail line breaks: CRLF -> LF, and a lone CR -> LF, in place; returns the new length. */
size_t st_tok_crlf_to_lf(char *p, size_t n);

#endif
