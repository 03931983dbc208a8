#ifndef PGSHARD_CPGQUERY_SHIM_H
#define PGSHARD_CPGQUERY_SHIM_H
#include <pg_query.h>
#endif
