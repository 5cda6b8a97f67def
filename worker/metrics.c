#include "worker/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "worker/schedule_item.h"
#include "config/config.h"

const char *aw_stage_name(aw_stage s)
{
    static const char *const names[AW_STAGE_COUNT] = {
        [AW_STAGE_KAFKA] = "kafka",     [AW_STAGE_QUEUE] = "queue",
        [AW_STAGE_PROCESS] = "process", [AW_STAGE_REPLY] = "reply",
        [AW_STAGE_AUDIT] = "audit",     [AW_STAGE_ACK] = "ack",
        [AW_STAGE_IN_FLIGHT] = "in_flight", [AW_STAGE_COMMIT] = "commit",
        [AW_STAGE_PAUSED] = "paused",   [AW_STAGE_REFETCH] = "refetch",
    };
    return (unsigned)s < AW_STAGE_COUNT ? names[s] : "?";
}

/* Upper bounds in microseconds (rendered in seconds); the last bucket is
 * +Inf. The search runs for every observation (seven per message for the
 * stage histograms), so it compares integers. */
static const int64_t bounds_us[AW_HIST_BUCKETS - 1] = {100,    250,     500,     1000,
                                                       2500,   5000,    10000,   25000,
                                                       50000,  100000,  250000,  500000,
                                                       1000000, 2500000, 5000000, 10000000};

void aw_histogram_observe_us(aw_histogram *h, int64_t us)
{
    if (us < 0)
        us = 0;
    size_t i = 0;
    while (i < AW_HIST_BUCKETS - 1 && us > bounds_us[i])
        i++;
    /* Counters only: nothing else is ordered by them. */
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, (unsigned long long)us, memory_order_relaxed);
}

int aw_metrics_init(aw_metrics *m)
{
    memset(m, 0, sizeof(*m));
    return pthread_mutex_init(&m->lag_lock, NULL) ? -1 : 0;
}

int aw_metrics_init_rules(aw_metrics *m, const char *const *names, size_t n)
{
    if (!n)
        return 0;
    aw_rule_counters *r = calloc(n, sizeof(*r));
    if (!r)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!(r[i].name = strdup(names[i]))) {
            for (size_t k = 0; k < i; k++)
                free(r[k].name);
            free(r);
            return -1;
        }
    }
    m->rules = r;
    m->n_rules = n;
    return 0;
}

int aw_metrics_init_machines(aw_metrics *m, const aw_machine_config *machines, size_t n)
{
    if (!n)
        return 0;
    aw_machine_counters *c = calloc(n, sizeof(*c));
    if (!c)
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t k = machines[i].n_states;
        c[i].machine = &machines[i];
        if (!(c[i].moves = calloc(k * k, sizeof(*c[i].moves)))) {
            for (size_t j = 0; j < i; j++)
                free(c[j].moves);
            free(c);
            return -1;
        }
    }
    m->machines = c;
    m->n_machines = n;
    return 0;
}

static long state_index(const aw_machine_config *mc, const char *s)
{
    for (size_t i = 0; i < mc->n_states; i++)
        if (strcmp(mc->states[i], s) == 0)
            return (long)i;
    return -1;
}

void aw_metrics_count_move(aw_metrics *m, const aw_machine_config *mc, const char *from,
                           const char *to)
{
    for (size_t i = 0; i < m->n_machines; i++) {
        if (m->machines[i].machine != mc)
            continue;
        long f = state_index(mc, from), t = state_index(mc, to);
        if (f >= 0 && t >= 0)
            atomic_fetch_add(&m->machines[i].moves[(size_t)f * mc->n_states + (size_t)t], 1);
        return;
    }
}

void aw_metrics_destroy(aw_metrics *m)
{
    for (size_t i = 0; i < m->n_machines; i++)
        free(m->machines[i].moves);
    free(m->machines);
    m->machines = NULL;
    m->n_machines = 0;
    for (size_t i = 0; i < m->n_rules; i++)
        free(m->rules[i].name);
    free(m->rules);
    m->rules = NULL;
    m->n_rules = 0;
    free(m->lags);
    pthread_mutex_destroy(&m->lag_lock);
}

static void add_lag(aw_metrics *m, const char *topic, int32_t partition, int64_t lag,
                    int64_t committed, bool assigned)
{
    if (m->n_lags == m->cap_lags) {
        size_t ncap = m->cap_lags ? m->cap_lags * 2 : 16;
        aw_partition_lag *n = realloc(m->lags, ncap * sizeof(*n));
        if (!n)
            return;
        m->lags = n;
        m->cap_lags = ncap;
    }
    aw_partition_lag *l = &m->lags[m->n_lags++];
    snprintf(l->topic, sizeof(l->topic), "%s", topic);
    l->partition = partition;
    l->lag = lag;
    l->committed = committed;
    l->assigned = assigned;
}

/* STATISTICS.md: topics.<t>.partitions.<p>.{consumer_lag, committed_offset};
 * partition -1 is the internal "unassigned" entry and is skipped, and so
 * are partitions this consumer does not fetch (consumer_lag = -1). */
void aw_metrics_update_lag(aw_metrics *m, const char *stats_json, size_t len,
                           aw_lag_assigned_fn assigned, void *ud)
{
    json_t *root = json_loadb(stats_json, len, 0, NULL);
    if (!root)
        return;
    pthread_mutex_lock(&m->lag_lock);
    m->n_lags = 0;
    const char *tname;
    json_t *topic;
    json_object_foreach(json_object_get(root, "topics"), tname, topic)
    {
        const char *pname;
        json_t *p;
        json_object_foreach(json_object_get(topic, "partitions"), pname, p)
        {
            json_int_t id = json_integer_value(json_object_get(p, "partition"));
            json_int_t lag = json_integer_value(json_object_get(p, "consumer_lag"));
            if (id < 0 || lag < 0)
                continue;
            add_lag(m, tname, (int32_t)id, lag,
                    json_integer_value(json_object_get(p, "committed_offset")),
                    assigned(ud, tname, (int32_t)id));
        }
    }
    pthread_mutex_unlock(&m->lag_lock);
    json_decref(root);
}

void aw_metrics_mark_assigned(aw_metrics *m, aw_lag_assigned_fn assigned, void *ud)
{
    pthread_mutex_lock(&m->lag_lock);
    for (size_t i = 0; i < m->n_lags; i++)
        m->lags[i].assigned = assigned(ud, m->lags[i].topic, m->lags[i].partition);
    pthread_mutex_unlock(&m->lag_lock);
}

static void counter(aw_buf *o, const char *name, const char *help, unsigned long v)
{
    aw_buf_printf(o, "# HELP %s %s\n# TYPE %s counter\n%s %lu\n", name, help, name, name, v);
}

static void gauge(aw_buf *o, const char *name, const char *help, long v)
{
    aw_buf_printf(o, "# HELP %s %s\n# TYPE %s gauge\n%s %ld\n", name, help, name, name, v);
}

/* The due index's gauges (metrics.h says who writes them), once the
 * scheduler has seen them. */
static void due_pool_gauges(aw_buf *o, aw_metrics *m)
{
    if (!atomic_load(&m->due_stats_seen))
        return;
    aw_buf_printf(o,
                  "# HELP acteon_due_pool_items Items in the due index's pool of scheduled actions "
                  "(docs/scheduling.md): waiting and leased.\n"
                  "# TYPE acteon_due_pool_items gauge\n"
                  "acteon_due_pool_items{kind=\"%s\"} %llu\n",
                  AW_SCHEDULE_KIND, atomic_load(&m->due_pool_items));
    aw_buf_printf(o,
                  "# HELP acteon_due_waiting Scheduled actions due and not taken by any replica "
                  "(no live lease).\n"
                  "# TYPE acteon_due_waiting gauge\n"
                  "acteon_due_waiting{kind=\"%s\"} %llu\n",
                  AW_SCHEDULE_KIND, atomic_load(&m->due_pool_waiting));
    long long lag = atomic_load(&m->due_oldest_lag_ms);
    aw_buf_printf(o,
                  "# HELP acteon_due_oldest_lag_seconds How late the oldest waiting scheduled "
                  "action is (0 when none waits): growing means the replicas do not keep up "
                  "or are down.\n"
                  "# TYPE acteon_due_oldest_lag_seconds gauge\n"
                  "acteon_due_oldest_lag_seconds{kind=\"%s\"} %lld.%03lld\n",
                  AW_SCHEDULE_KIND, lag / 1000, lag % 1000);
}

/* One histogram's series; `label` (name="value",) goes before le, and
 * alone in braces on _sum and _count. */
static void histogram_series(aw_buf *o, const char *name, const char *label, aw_histogram *h)
{
    unsigned long cum = 0;
    for (size_t i = 0; i < AW_HIST_BUCKETS; i++) {
        cum += atomic_load(&h->buckets[i]);
        if (i < AW_HIST_BUCKETS - 1)
            aw_buf_printf(o, "%s_bucket{%sle=\"%g\"} %lu\n", name, label,
                          (double)bounds_us[i] / 1e6, cum);
        else
            aw_buf_printf(o, "%s_bucket{%sle=\"+Inf\"} %lu\n", name, label, cum);
    }
    size_t ll = strlen(label);
    if (ll) /* without the trailing comma */
        aw_buf_printf(o, "%s_sum{%.*s} %.6f\n%s_count{%.*s} %lu\n", name, (int)ll - 1, label,
                      (double)atomic_load(&h->sum_us) / 1e6, name, (int)ll - 1, label,
                      atomic_load(&h->count));
    else
        aw_buf_printf(o, "%s_sum %.6f\n%s_count %lu\n", name,
                      (double)atomic_load(&h->sum_us) / 1e6, name, atomic_load(&h->count));
}

static void histogram(aw_buf *o, const char *name, const char *help, aw_histogram *h)
{
    aw_buf_printf(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    histogram_series(o, name, "", h);
}

static void stage_histograms(aw_buf *o, aw_metrics *m)
{
    aw_buf_puts(o, "# HELP acteon_stage_seconds Where a consumed message's time goes: kafka "
                   "(produced -> polled), queue (-> taken by its worker thread), process (-> "
                   "outcome handed on), reply and audit (-> acknowledged), ack (-> released), "
                   "in_flight (polled -> released), commit (offset stored -> committed), "
                   "paused (each pause), refetch (resume -> next message).\n"
                   "# TYPE acteon_stage_seconds histogram\n");
    for (int s = 0; s < AW_STAGE_COUNT; s++) {
        char label[48];
        snprintf(label, sizeof(label), "stage=\"%s\",", aw_stage_name((aw_stage)s));
        histogram_series(o, "acteon_stage_seconds", label, &m->stages[s]);
    }
}

/* A label value: \\, " and newlines escaped (rule names are free text). */
static void label_value(aw_buf *o, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            aw_buf_printf(o, "\\%c", *s);
        else if (*s == '\n')
            aw_buf_puts(o, "\\n");
        else
            aw_buf_append(o, s, 1);
    }
}

/* Only the pairs that happened: a machine's matrix is mostly moves no
 * transition allows. */
static void machine_counters(aw_buf *o, const aw_metrics *m)
{
    if (!m->n_machines)
        return;
    aw_buf_puts(o, "# HELP acteon_event_moves_total Moves of state machines' events made by "
                   "this replica, actions' and timeouts' (docs/rules.md).\n"
                   "# TYPE acteon_event_moves_total counter\n");
    for (size_t i = 0; i < m->n_machines; i++) {
        const aw_machine_config *mc = m->machines[i].machine;
        size_t n = mc->n_states;
        for (size_t k = 0; k < n * n; k++) {
            unsigned long v = atomic_load(&m->machines[i].moves[k]);
            if (!v)
                continue;
            aw_buf_puts(o, "acteon_event_moves_total{machine=\"");
            label_value(o, mc->name);
            aw_buf_printf(o, "\",from=\"%s\",to=\"%s\"} %lu\n", mc->states[k / n],
                          mc->states[k % n], v);
        }
    }
}

static void rule_counters(aw_buf *o, const aw_metrics *m)
{
    if (!m->n_rules)
        return;
    aw_buf_puts(o, "# HELP acteon_rule_verdicts_total What each rule decided (docs/rules.md).\n"
                   "# TYPE acteon_rule_verdicts_total counter\n");
    for (size_t i = 0; i < m->n_rules; i++) {
        const aw_rule_counters *r = &m->rules[i];
        const struct {
            const char *verdict;
            unsigned long v;
        } rows[] = {{"suppressed", atomic_load(&r->suppressed)},
                    {"allowed", atomic_load(&r->allowed)},
                    {"throttled", atomic_load(&r->throttled)},
                    {"delayed", atomic_load(&r->delayed)},
                    {"rejected", atomic_load(&r->rejected)},
                    {"acquired", atomic_load(&r->acquired)},
                    {"waited", atomic_load(&r->waited)},
                    {"timed_out", atomic_load(&r->timed_out)},
                    {"state_changed", atomic_load(&r->moved)},
                    {"state_refused", atomic_load(&r->refused)},
                    {"grouped", atomic_load(&r->grouped)},
                    {"group_opened", atomic_load(&r->groups_opened)}};
        for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
            aw_buf_puts(o, "acteon_rule_verdicts_total{rule=\"");
            label_value(o, r->name);
            aw_buf_printf(o, "\",verdict=\"%s\"} %lu\n", rows[k].verdict, rows[k].v);
        }
    }
}

int aw_metrics_render(aw_metrics *m, const aw_metrics_gauges *g, aw_buf *o)
{
    counter(o, "acteon_messages_consumed_total", "Messages consumed from the action topics.",
            atomic_load(&m->consumed));
    aw_buf_puts(o, "# HELP acteon_outcomes_total Terminal outcomes by kind.\n"
                   "# TYPE acteon_outcomes_total counter\n");
    for (int i = 0; i < AW_OUTCOME_COUNT; i++)
        aw_buf_printf(o, "acteon_outcomes_total{outcome=\"%s\"} %lu\n",
                      aw_outcome_name((aw_outcome)i), atomic_load(&m->outcomes[i]));
    counter(o, "acteon_dlq_messages_total", "Messages written to the dead-letter topic.",
            atomic_load(&m->dlq_delivered));
    counter(o, "acteon_replies_total", "Replies acknowledged by the broker.",
            atomic_load(&m->replies_delivered));
    counter(o, "acteon_delivery_failures_total",
            "Replies or DLQ copies that failed for good (offset left uncommitted).",
            atomic_load(&m->delivery_failures));
    aw_buf_puts(o, "# HELP acteon_retries_total Retried calls by target.\n"
                   "# TYPE acteon_retries_total counter\n");
    aw_buf_printf(o, "acteon_retries_total{target=\"state\"} %lu\n",
                  atomic_load(&m->state_retries));
    aw_buf_printf(o, "acteon_retries_total{target=\"audit\"} %lu\n",
                  atomic_load(&m->audit_retries));
    aw_buf_printf(o, "acteon_retries_total{target=\"provider\"} %lu\n",
                  atomic_load(&m->provider_retries));
    counter(o, "acteon_audit_records_total", "Audit records newly stored by the audit writer.",
            atomic_load(&m->audit_records));
    counter(o, "acteon_audit_batches_total", "Audit backend calls that succeeded.",
            atomic_load(&m->audit_batches));
    counter(o, "acteon_audit_refused_total",
            "Audit records the backend refused for good (offset left uncommitted).",
            atomic_load(&m->audit_refused));
    counter(o, "acteon_lease_busy_waits_total",
            "Claims that found the identity leased by another holder.",
            atomic_load(&m->lease_busy_waits));
    counter(o, "acteon_recorder_writes_total",
            "Done-record writes made by the recorder threads while provider calls ran.",
            atomic_load(&m->recorder_writes));
    counter(o, "acteon_throttle_counts_total",
            "Throttle counter increments (one per rule and key per batch, docs/rules.md).",
            atomic_load(&m->throttle_counts));
    rule_counters(o, m);
    machine_counters(o, m);
    aw_buf_puts(o, "# HELP acteon_due_items_total Scheduled actions (docs/scheduling.md) "
                   "this replica's scheduler took from the due index, by what became of "
                   "them.\n"
                   "# TYPE acteon_due_items_total counter\n");
    const struct {
        const char *what;
        unsigned long v;
    } due[] = {{"taken", atomic_load(&m->due_taken)},
               {"done", atomic_load(&m->due_done)},
               {"released", atomic_load(&m->due_released)},
               {"lease_lost", atomic_load(&m->due_lost)},
               {"dropped", atomic_load(&m->due_dropped)}};
    for (size_t k = 0; k < sizeof(due) / sizeof(due[0]); k++)
        aw_buf_printf(o, "acteon_due_items_total{event=\"%s\"} %lu\n", due[k].what, due[k].v);
    due_pool_gauges(o, m);
    aw_buf_puts(o, "# HELP acteon_event_timeouts_total State machine timeouts this replica's "
                   "scheduler took (docs/rules.md): fired (the event moved, recorded and "
                   "replied) or moved_on (the event had left the state: nothing).\n"
                   "# TYPE acteon_event_timeouts_total counter\n");
    aw_buf_printf(o, "acteon_event_timeouts_total{result=\"fired\"} %lu\n",
                  atomic_load(&m->event_timeouts_fired));
    aw_buf_printf(o, "acteon_event_timeouts_total{result=\"moved_on\"} %lu\n",
                  atomic_load(&m->event_timeouts_moved_on));
    aw_buf_puts(o, "# HELP acteon_chains_total Chains this replica started or ended "
                   "(docs/rules.md, \"chain\"); running = started - completed - failed "
                   "summed over replicas.\n"
                   "# TYPE acteon_chains_total counter\n");
    aw_buf_printf(o, "acteon_chains_total{event=\"started\"} %lu\n",
                  atomic_load(&m->chains_started));
    aw_buf_printf(o, "acteon_chains_total{event=\"completed\"} %lu\n",
                  atomic_load(&m->chains_completed));
    aw_buf_printf(o, "acteon_chains_total{event=\"failed\"} %lu\n",
                  atomic_load(&m->chains_failed));
    counter(o, "acteon_chain_steps_total", "Chain step runs this replica recorded in their "
            "chain (each run of a step once across replicas).", atomic_load(&m->chain_steps));
    counter(o, "acteon_groups_closed_total",
            "Groups of group rules closed by this replica's scheduler, their one call "
            "following (docs/rules.md); open groups = the sum over replicas of "
            "acteon_rule_verdicts_total{verdict=\"group_opened\"} minus this summed.",
            atomic_load(&m->groups_closed));
    counter(o, "acteon_rebalances_total", "Partition assignment changes.",
            atomic_load(&m->rebalances));
    gauge(o, "acteon_assigned_partitions", "Partitions currently assigned.",
          atomic_load(&m->assigned_partitions));
    gauge(o, "acteon_in_flight", "Messages consumed and not yet committed.", g->in_flight);
    gauge(o, "acteon_in_flight_max", "Bound on in-flight messages (workers.max_in_flight).",
          g->max_in_flight);
    gauge(o, "acteon_in_flight_bytes", "Bytes (value + key) of the messages in flight.",
          g->in_flight_bytes);
    gauge(o, "acteon_in_flight_bytes_max", "Bound on them (workers.max_in_flight_bytes).",
          g->max_in_flight_bytes);
    gauge(o, "acteon_audit_queue_depth", "Audit records waiting for the audit writer.",
          g->audit_queue_depth);
    gauge(o, "acteon_audit_queue_capacity", "Bound on the audit queue (audit.queue_capacity).",
          g->audit_queue_capacity);
    gauge(o, "acteon_consumption_paused", "1 while fetching is paused (backpressure).",
          atomic_load(&m->paused));
    histogram(o, "acteon_claim_seconds", "State claim_batch round trips.", &m->claim_ms);
    histogram(o, "acteon_complete_seconds", "State complete_batch round trips.",
              &m->complete_ms);
    histogram(o, "acteon_done_record_lag_seconds",
              "From a provider call's answer to its done record acknowledged by the state "
              "backend (what a crash meanwhile would run again).",
              &m->record_lag);
    histogram(o, "acteon_recorder_queue_seconds",
              "Done records handed to the recorder, waiting for a free recorder thread.",
              &m->recorder_queue);
    histogram(o, "acteon_throttle_count_seconds",
              "State increment round trips of throttle rules.", &m->throttle_ms);
    histogram(o, "acteon_lock_acquire_seconds",
              "State lock_acquire round trips of lock rules (taken or held elsewhere).",
              &m->lock_ms);
    histogram(o, "acteon_event_move_seconds",
              "State machine rules' moves of an event (read, compare-and-swap, again after a "
              "lost race).",
              &m->event_move_ms);
    histogram(o, "acteon_chain_start_seconds",
              "Chain rules' starts of a chain (its record read and created, its due item "
              "put).",
              &m->chain_start_ms);
    histogram(o, "acteon_group_join_seconds",
              "Group rules' joins of a member (reads, marker, compare-and-swap, again after a "
              "lost race).",
              &m->group_join_ms);
    histogram(o, "acteon_due_put_seconds",
              "State due_put round trips (scheduling actions with a future not_before).",
              &m->due_put_ms);
    histogram(o, "acteon_due_take_seconds", "State due_take round trips of the scheduler.",
              &m->due_take_ms);
    histogram(o, "acteon_audit_write_seconds", "Audit append_batch round trips.", &m->audit_ms);
    histogram(o, "acteon_provider_seconds", "Provider calls (one attempt each).",
              &m->provider_ms);
    histogram(o, "acteon_processing_seconds", "From consumption to terminal outcome.",
              &m->end_to_end_ms);
    stage_histograms(o, m);
    /* Only the partitions assigned now: a lost partition's statistics are
     * frozen here (aw_metrics_update_lag), and its series must go (a
     * Prometheus gauge that stops being exported turns stale) rather than
     * report a lag that only its new owner can see fall. */
    aw_buf_puts(o, "# HELP acteon_consumer_lag Messages behind the high watermark, per "
                   "partition assigned to this worker (librdkafka statistics).\n"
                   "# TYPE acteon_consumer_lag gauge\n");
    pthread_mutex_lock(&m->lag_lock);
    for (size_t i = 0; i < m->n_lags; i++)
        if (m->lags[i].assigned)
            aw_buf_printf(o, "acteon_consumer_lag{topic=\"%s\",partition=\"%d\"} %lld\n",
                          m->lags[i].topic, m->lags[i].partition, (long long)m->lags[i].lag);
    pthread_mutex_unlock(&m->lag_lock);
    return 0;
}
