#!/usr/bin/env bash
# A message chooses its reply topic only inside kafka.reply_to_allow:
#  - reply_to matching a pattern: the reply goes there;
#  - reply_to outside the list: the action still runs, its reply goes to the
#    default reply topic with acteon.reply_to_error saying why, and nothing
#    is written to the named topic;
#  - no reply_to: the default reply topic, no error header.
source "$(dirname "$0")/lib.sh"
ALLOWED="aw-it.$RUN_ID.team-a.replies"
FORBIDDEN="aw-it.$RUN_ID.forbidden"
start_kafka "$ACTIONS_TOPIC:2" "$REPLY_TOPIC:2" "$DLQ_TOPIC:1" "$ALLOWED:1"
start_webhook
KAFKA_EXTRA="reply_to_allow = [ \"aw-it.$RUN_ID.team-*.replies\" ];"
write_config "$T/worker.conf"
act() { printf '{"id":"%s","namespace":"it","tenant":"acme","provider":"webhook","action_type":"notify","payload":{}%s}\n' "$1" "$2"; }
{ act ok-1 ",\"reply_to\":\"$ALLOWED\""; act no-1 ",\"reply_to\":\"$FORBIDDEN\""; act plain-1 ""; } >"$T/actions.jsonl"
produce_file "$T/actions.jsonl"
start_worker worker "$T/worker.conf"
wait_for 60 "a reply on the allowed topic" topic_has "$ALLOWED" 1
wait_for 60 "two replies on the default topic" topic_has "$REPLY_TOPIC" 2
wait_for 30 "offsets committed at the end" committed_at_end "$GROUP" "$ACTIONS_TOPIC"
stop_worker "$WORKER_PID"

[ "$(read_topic "$ALLOWED" '%k\n')" = ok-1 ] || fail "allowed topic: want the reply of ok-1 only"
read_topic "$REPLY_TOPIC" '%k %h\n' >"$T/default.txt"
grep -q '^no-1 .*acteon.reply_to_error=reply_to "'"$FORBIDDEN"'" is not allowed' "$T/default.txt" \
    || fail "no-1: no reply with the reason on the default topic: $(cat "$T/default.txt")"
grep '^plain-1 ' "$T/default.txt" | grep -q reply_to_error && fail "plain-1 carries an error header"
grep -q '^plain-1 ' "$T/default.txt" || fail "plain-1: no reply on the default topic"
[ "$(count_topic "$FORBIDDEN")" -eq 0 ] || fail "something was written to the forbidden topic"
[ "$(wc -l <"$HOOK_LOG")" -eq 3 ] || fail "want the three actions executed once each"
pass "reply_to honoured inside the allow-list only; outside it, the default topic says why"
