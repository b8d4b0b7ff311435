/*
 * output.h - what seqtrain-tokenize writes: the dataset with its vocabulary and options, the
 * .vocab.txt / .classes.txt beside it, any other text file (the manifest), and the summary's
 * vocabulary lines.
 */
#ifndef SEQTRAIN_TOKENIZE_OUTPUT_H
#define SEQTRAIN_TOKENIZE_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include "seqtrain/atomic.h"
#include "seqtrain/data.h"
#include "tokenize/opts.h"
#include "tokenize/vocab.h"

/* A text output through the atomic writer: open (dies with the writer's message on failure),
 * write to the FILE, then commit (dies likewise; PATH is then unchanged). */
FILE *st_tok_out_open(st_atomic *a, const char *path);
void st_tok_out_commit(st_atomic *a);
/* Writes o->out (st_dataset_write_ex: the splits sd[0..nsd), /vocab, /classes when ncls, the
 * tokenizer_* / pad_* / lm_* attributes that --vocab-from reads back), then OUT.vocab.txt
 * (its path into vpath[0..vsz)) and, when ncls, OUT.classes.txt. */
void st_tok_write_all(const opts *o, const vocab *v, const char *const *classes, int ncls,
                      int num_classes, const st_split_data *sd, int nsd, char *vpath, size_t vsz);
/* The vocabulary and coverage lines of the summary (stdout). */
void st_tok_print_vocab(const opts *o, const vocab *v, uint64_t tokens, uint64_t kept);

#endif
