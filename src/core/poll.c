/* poll.c - the hook of core/poll.h. */
#include "core/poll.h"

st_poll_fn st_poll_hook;
void *st_poll_ctx;
