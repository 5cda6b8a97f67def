# The pause of an audit outage, checked from outside the worker (sourced by
# outage_body.sh when OUTAGE_OF=audit; its config serves /metrics and has
# librdkafka report statistics, hence the consumer lag, every second).
#
# vm_rss_kb PID: the resident set of PID in KiB (VmRSS of /proc/PID/status).
#
# check_paused_bounds RSS_BEFORE_KB: wait (bounded) until the audit queue is
# full, consumption is paused (it pauses only when the in-flight window is
# full; records acknowledged just before the outage may free a few places
# after that, and it resumes only at half the window) and the consumer lag
# is reported, then take PAUSED_SAMPLES samples about 0.3 s apart and
# require in each one:
#   - audit queue depth <= its capacity (40) and in flight <= max_in_flight
#     (100): the two bounds hold;
#   - still paused, no message consumed since the first sample, consumer lag
#     on the action topic > 0: consumption paused, the rest waits in Kafka
#     (not read and dropped);
#   - RSS <= RSS_BEFORE_KB + RSS_SLACK_KB, and the last sample at most
#     RSS_GROWTH_KB above the first.
# The RSS bounds: what the pause holds beyond the run before the outage is
# at most 100 messages in flight and 40 queued records, each a few KiB, so
# well under 1 MiB. While paused nothing is consumed, so between samples
# only retry churn allocates: measured, the release build's RSS stays within
# 0.2 MiB over the samples; under ASan, whose quarantine keeps freed memory
# resident, it grew 1.4 MiB over the samples and 7 MiB from before the
# outage. RSS_GROWTH_KB (8 MiB over ~3 s) and RSS_SLACK_KB (32 MiB) leave
# room for that and for allocator arenas; they catch memory that grows with
# the backlog, not a small leak (8 MiB over ~150 poll loops of 20 ms is
# about 50 KiB a loop): the metrics above are the exact part.
PAUSED_SAMPLES=10
RSS_SLACK_KB=$((32 * 1024))
RSS_GROWTH_KB=$((8 * 1024))

vm_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# The consumer lag summed over the action topic's partitions (0 if absent).
_lag_sum() {
    awk -v t="acteon_consumer_lag{topic=\"$ACTIONS_TOPIC\"," \
        'index($1, t) == 1 && $2 > 0 { s += $2 } END { print s + 0 }' "$1"
}

_fetch_metrics() { curl -sf "$METRICS_URL" >"$T/metrics.txt"; }

_queue_and_window_full() {
    _fetch_metrics || return 1
    local cap depth
    cap=$(metric acteon_audit_queue_capacity "$T/metrics.txt")
    depth=$(metric acteon_audit_queue_depth "$T/metrics.txt")
    [ -n "$cap" ] && [ "$cap" -gt 0 ] && [ "$depth" = "$cap" ] &&
        [ "$(metric acteon_consumption_paused "$T/metrics.txt")" = 1 ] &&
        [ "$(_lag_sum "$T/metrics.txt")" -gt 0 ]
}

check_paused_bounds() {
    local rss_before=$1 i rss rss_first= consumed_first= depth cap in_flight max lag consumed
    METRICS_URL=$(metrics_url "$T/worker.log")
    [ -n "$METRICS_URL" ] || fail "the worker does not serve /metrics"
    wait_for 60 "a full audit queue, paused consumption, lag reported" \
        _queue_and_window_full
    for ((i = 1; i <= PAUSED_SAMPLES; i++)); do
        _fetch_metrics || fail "/metrics while the audit backend is down"
        rss=$(vm_rss_kb "$WORKER_PID")
        depth=$(metric acteon_audit_queue_depth "$T/metrics.txt")
        cap=$(metric acteon_audit_queue_capacity "$T/metrics.txt")
        in_flight=$(metric acteon_in_flight "$T/metrics.txt")
        max=$(metric acteon_in_flight_max "$T/metrics.txt")
        consumed=$(metric acteon_messages_consumed_total "$T/metrics.txt")
        lag=$(_lag_sum "$T/metrics.txt")
        echo "paused sample $i: rss ${rss} KiB, audit queue $depth/$cap, in flight $in_flight/$max," \
            "consumed $consumed, lag $lag"
        [ "$cap" = 40 ] && [ "$max" = 100 ] || fail "bounds: queue capacity $cap, max in flight $max"
        [ "$depth" -le "$cap" ] || fail "audit queue depth $depth above its capacity $cap"
        [ "$in_flight" -le "$max" ] || fail "$in_flight in flight, above max_in_flight $max"
        [ "$(metric acteon_consumption_paused "$T/metrics.txt")" = 1 ] || fail "consumption resumed"
        [ "$lag" -gt 0 ] || fail "consumer lag $lag while paused with messages left"
        : "${consumed_first:=$consumed}" "${rss_first:=$rss}"
        [ "$consumed" = "$consumed_first" ] || fail "consumed $consumed_first, then $consumed while paused"
        [ "$rss" -le $((rss_before + RSS_SLACK_KB)) ] \
            || fail "RSS ${rss} KiB while paused, more than ${RSS_SLACK_KB} KiB above ${rss_before} KiB"
        [ "$i" -eq "$PAUSED_SAMPLES" ] || sleep 0.3 # the sampling interval, not a synchronisation
    done
    [ "$rss" -le $((rss_first + RSS_GROWTH_KB)) ] \
        || fail "RSS grew from ${rss_first} to ${rss} KiB while paused"
    pass "audit down: queue $depth/$cap, in flight $in_flight/$max, paused, lag $lag," \
        "nothing consumed, RSS ${rss_first}..${rss} KiB (${rss_before} KiB before)"
}
