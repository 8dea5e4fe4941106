// SPDX-License-Identifier: GPL-2.0-only
/* A planted include cycle (a -> b -> a): make check-includes must refuse it. */
#include "b.h"
