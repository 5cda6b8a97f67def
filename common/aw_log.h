/* Process-wide logging: one line per event, text for terminals or JSON lines
 * for machines. Thread-safe: each line is written with a single write(2).
 * aw_log_init() is called once from main before threads start; the level and
 * format are then read-only. Never pass secrets: use aw_redact_url(). */
#ifndef AW_LOG_H
#define AW_LOG_H

#include <stddef.h>

typedef enum aw_log_level {
    AW_LOG_DEBUG = 0,
    AW_LOG_INFO,
    AW_LOG_WARN,
    AW_LOG_ERROR,
} aw_log_level;

typedef enum aw_log_format {
    AW_LOG_TEXT = 0,
    AW_LOG_JSON,
} aw_log_format;

void aw_log_init(aw_log_level level, aw_log_format format, int fd);
aw_log_level aw_log_get_level(void);

/* Parse "debug"/"info"/"warn"/"error" and "text"/"json". Return 0 on success. */
int aw_log_level_parse(const char *s, aw_log_level *out);
int aw_log_format_parse(const char *s, aw_log_format *out);

void aw_log(aw_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define AW_DEBUG(comp, ...) aw_log(AW_LOG_DEBUG, comp, __VA_ARGS__)
#define AW_INFO(comp, ...) aw_log(AW_LOG_INFO, comp, __VA_ARGS__)
#define AW_WARN(comp, ...) aw_log(AW_LOG_WARN, comp, __VA_ARGS__)
#define AW_ERROR(comp, ...) aw_log(AW_LOG_ERROR, comp, __VA_ARGS__)

/* Copy url into out (size outsz) with any password replaced by "***":
 * "redis://:pw@h:1/0" -> "redis://:***@h:1/0",
 * "postgres://u:pw@h/db?password=x" -> "postgres://u:***@h/db?password=***". */
void aw_redact_url(const char *url, char *out, size_t outsz);

#endif
