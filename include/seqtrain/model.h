/* Forwarding stub: the model moved to src/model/model.h (removed at merge). */
#include "model/model.h"
