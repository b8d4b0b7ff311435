/*
 * config.h - the INI run description.
 *
 * A config reads like a Keras Sequential model: [data], [train], [checkpoint], then one section
 * per layer in file order. Sections may repeat ([lstm] twice stacks two LSTMs), so the file is
 * kept as an ordered list of sections, each with its keys and the line every key came from. This
 * is syntax only: the keys of [data]/[train]/[checkpoint]/[callbacks] are resolved by the
 * training code (st_train_config_check, train.h), layer sections by the model (model.h), both
 * reporting bad keys with the lines kept here. Parsing is done by inih (src/io/config.c is the only file that includes ini.h).
 */
#ifndef SEQTRAIN_CONFIG_H
#define SEQTRAIN_CONFIG_H

#include <stddef.h>

#define ST_PATH_MAX 1024

typedef struct st_kv {
    char *key;
    char *val;
    int line; /* 0 when the value came from --set */
} st_kv;

typedef struct st_section {
    char *name; /* as written: "train", "lstm", ... */
    int line;
    int nkv;
    st_kv *kv;
} st_section;

typedef struct st_config {
    char origin[ST_PATH_MAX]; /* file name used in messages */
    int nsec;
    st_section *sec;
} st_config;

/* Parses the file (or the text) into c. Returns ST_OK or ST_ERR with a message naming
 * origin:line. The caller frees c with st_config_free even on failure. Refused, each with its
 * line: a path that is not a regular file, more than 1 MiB, a line longer than 197
 * characters (after leading blanks), a NUL byte, a control character other than tab, bytes
 * that are not UTF-8. */
int st_config_load(st_config *c, const char *path);
int st_config_load_string(st_config *c, const char *text, const char *origin);
/* Applies "section.key=value" (section = a section name, first of that name, or a layer name
 * such as lstm_2). Adds the key if the section lacks it. Refuses what st_config_text could not
 * carry back: a key other than letters, digits, '_', '.', '-'; a value with a control
 * character, ' ;' (an inline comment) or bytes that are not UTF-8; "key=value" over 197. */
int st_config_set(st_config *c, const char *assignment);
/* True for the sections that are not layers. */
int st_config_is_meta(const char *section);
/* THE layer-naming rule (src/io/config_names.c), shared by the model and by --set: section i's
 * `name` key if it has one, else "<section>_<k>" where k counts the sections of that name up to
 * and including i ("lstm_2" for the second [lstm]). Writes into out[outlen] (truncating). */
void st_config_layer_name(const st_config *c, int i, char *out, size_t outlen);
/* The section that --set TARGET.key=value reaches: a section named TARGET (the first of that
 * name), else the layer st_config_layer_name calls TARGET; -1 if none. */
int st_config_find_section(const st_config *c, const char *target);
/* Room for any layer name st_config_layer_name makes (a `name` key fits one config line). */
#define ST_CONFIG_NAME_MAX 256
/* Canonical INI text of the config (overrides applied), st_malloc'd; stored in checkpoints.
 * Loading it gives the same sections, keys and values (a value starting with ';' or '#', or a
 * line at the length limit, is written "key=value"). */
char *st_config_text(const st_config *c);
void st_config_free(st_config *c);

#endif
