/* The audit conformance suite against the in-process backend. */
#include "suite_audit.h"

int main(void)
{
    aw_audit_options opts = {.retention_ms = 7 * 24 * 3600 * 1000LL};
    return aw_audit_conformance_run("memory", &opts);
}
