// SPDX-License-Identifier: GPL-2.0-only
/* A planted include cycle (b -> a -> b): make check-includes must refuse it. */
#include "a.h"
