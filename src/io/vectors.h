/*
 * vectors.h - readers for pre-trained word vectors and vocabulary lists (text files).
 *
 * A pure reader: file -> words and float rows, streamed to a callback so a 400k x 300 GloVe
 * file never sits in memory whole. It knows nothing of layers or models; the model matches
 * words to token ids and copies rows into an embedding (src/model/pretrained.c).
 */
#ifndef SEQTRAIN_IO_VECTORS_H
#define SEQTRAIN_IO_VECTORS_H

#include <stddef.h>

/* Called once per vector line with the word and its dim values (valid only during the call). */
typedef void (*st_vectors_row_fn)(const char *word, const float *row, void *ctx);

/* Reads a word2vec / GloVe text file: "word v1 ... v_dim" per line, blank lines skipped,
 * word2vec's "count dim" first line skipped. Every vector must have exactly dim values.
 * *lines gets the number of vectors read. Returns ST_OK, or ST_ERR with a message
 * "path: cannot open: why" or "path:line: word 'w' has fewer|more values than the D expected".
 * Nothing is kept after the call. */
int st_vectors_read(const char *path, int dim, st_vectors_row_fn row, void *ctx, size_t *lines);

/* Reads a vocabulary list: line k (counting from 1) is the word of id k, as seqtrain-tokenize
 * writes OUT.vocab.txt; id 0 (padding) gets "". *words gets *n strings from st_malloc, owned by
 * the caller (st_vocab_free). Returns ST_OK or ST_ERR ("path: cannot open ...: why"). */
int st_vocab_read(const char *path, char ***words, size_t *n);
void st_vocab_free(char **words, size_t n);

#endif
