#ifndef PGSHARD_CLIBPQ_SHIM_H
#define PGSHARD_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
