/* Forwarding stub: the layer interface moved to src/layers/layer.h (removed at merge). */
#include "layers/layer.h"
