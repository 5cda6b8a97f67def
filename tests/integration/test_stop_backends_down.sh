#!/usr/bin/env bash
# Issue 18: started with its state (Redis), audit (PostgreSQL) and Kafka
# addresses all unreachable (free ports, nothing started), the worker keeps
# retrying with backoff; SIGTERM then stops it within
# workers.shutdown_timeout_ms (plus a margin), with exit status 0 as
# docs/operations.md says, and its log says the backends are unreachable
# once per transition, not once per thread and attempt (8 threads retrying
# for seconds used to write dozens of lines; the report was ~2,300 lines in
# ten minutes).
source "$(dirname "$0")/lib.sh"

BOOT="127.0.0.1:$(free_port)"
HOOK_URL="http://127.0.0.1:$(free_port)/hook"
STATE_BACKEND=redis
STATE_URL="redis://127.0.0.1:$(free_port)/0"
AUDIT_BACKEND=postgres
AUDIT_URL="postgres://aw@127.0.0.1:$(free_port)/aw"
THREADS=8
SHUTDOWN_TIMEOUT_MS=3000
write_config "$T/worker.conf"
start_worker worker "$T/worker.conf"
t_start=$SECONDS

down() { grep -q "state backend down: " "$T/worker.log" && grep -q "audit backend down: " "$T/worker.log"; }
wait_for 30 "the worker to find its backends down" down
# Let every thread go through several backoff rounds (100, 200, 400, ...
# ms): a duration the test asserts about, not a synchronisation.
retried_a_while() { [ $((SECONDS - t_start)) -ge 4 ]; }
wait_for 30 "four seconds of retries" retried_a_while
kill -0 "$WORKER_PID" 2>/dev/null || fail "the worker exited by itself"

# Bound: shutdown_timeout_ms (3 s) + 10 s of margin; the stop itself
# should take well under a second here (nothing in flight).
stop_within $((SHUTDOWN_TIMEOUT_MS / 1000 + 10)) "$WORKER_PID"
[ "$STOP_RC" -eq 0 ] || fail "exit status $STOP_RC after SIGTERM, want 0 (docs/operations.md)"
pass "stopped ${STOP_SECS}s after SIGTERM with every backend unreachable, exit 0"

# Lines about the unreachable state and audit backends (Kafka's own
# connection errors come from librdkafka and are not counted here).
about=$(grep -c -E "state backend|audit backend|\[state\.|\[audit\.|opening (a )?session|provider sessions" \
    "$T/worker.log" || true)
[ "$about" -le 10 ] || fail "$about log lines about the unreachable backends, want at most 10"
[ "$(grep -c "state backend down: " "$T/worker.log")" -eq 1 ] || fail "state backend down logged more than once"
[ "$(grep -c "audit backend down: " "$T/worker.log")" -eq 1 ] || fail "audit backend down logged more than once"
pass "$about log line(s) about the unreachable backends ($THREADS worker threads retrying)"

# ---- SIGTERM during start-up ----------------------------------------------
# A "Redis" that accepts connections and never answers: the worker's
# start-up waits in its first state connection (up to the command timeout,
# 5 s). SIGTERM then exits at once, status 0, saying so, before the worker
# reports itself started.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
    open(sys.argv[2], "a").write("accepted\n")
' "$T/mute.port" "$T/mute.accepted" >"$T/mute.log" 2>&1 &
PIDS+=($!)
wait_for 20 "the mute server" test -s "$T/mute.port"
STATE_URL="redis://127.0.0.1:$(cat "$T/mute.port")/0"
write_config "$T/mute.conf"
start_worker starting "$T/mute.conf"
wait_for 20 "the worker to connect to the mute server" test -s "$T/mute.accepted"
stop_within $((SHUTDOWN_TIMEOUT_MS / 1000 + 10)) "$WORKER_PID"
[ "$STOP_RC" -eq 0 ] || fail "exit status $STOP_RC after SIGTERM during start-up, want 0"
grep -q "stop requested during start-up" "$T/starting.log" || fail "no start-up stop message"
grep -q "\[run\] worker .* thread(s)" "$T/starting.log" && fail "exited only after start-up finished"
pass "SIGTERM during start-up: exited ${STOP_SECS}s later, status 0, before consuming anything"
