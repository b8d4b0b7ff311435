#include "train/checkpoint.h"
