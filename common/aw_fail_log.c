#include "common/aw_fail_log.h"

#include "common/aw_clock.h"

void aw_fail_log_init(aw_fail_log *f, const char *component, const char *subject,
                      const char *note, int64_t remind_ms)
{
    f->component = component;
    f->subject = subject;
    f->note = note;
    f->remind_ms = remind_ms;
    atomic_init(&f->since, 0);
    atomic_init(&f->failures, 0);
    atomic_init(&f->next_remind, 0);
}

bool aw_fail_log_failed(aw_fail_log *f, const char *why)
{
    long long now = aw_mono_now_ms();
    if (now == 0)
        now = 1; /* 0 means "no streak" */
    unsigned long n = atomic_fetch_add(&f->failures, 1) + 1;
    long long t0 = 0; /* the streak's start when the exchange fails */
    if (atomic_compare_exchange_strong(&f->since, &t0, now)) {
        atomic_store(&f->next_remind, now + f->remind_ms);
        aw_log(AW_LOG_WARN, f->component, "%s down: %s (%s)", f->subject, why ? why : "",
               f->note ? f->note : "retrying");
        return true;
    }
    if (f->remind_ms <= 0)
        return false;
    long long due = atomic_load(&f->next_remind);
    /* Only the thread that moves the reminder on logs it. */
    if (now < due || !atomic_compare_exchange_strong(&f->next_remind, &due, now + f->remind_ms))
        return false;
    aw_log(AW_LOG_WARN, f->component, "%s still down: %s (%lu failed attempt(s) over %lld s)",
           f->subject, why ? why : "", n, (now - t0) / 1000);
    return true;
}

unsigned long aw_fail_log_ok(aw_fail_log *f)
{
    if (atomic_load(&f->since) == 0)
        return 0; /* the common case: one load, no write */
    long long t0 = atomic_exchange(&f->since, 0);
    if (t0 == 0)
        return 0; /* another thread logged the recovery */
    unsigned long n = atomic_exchange(&f->failures, 0);
    aw_log(AW_LOG_INFO, f->component, "%s up again after %lld ms (%lu failed attempt(s))",
           f->subject, (long long)aw_mono_now_ms() - t0, n);
    return n;
}
