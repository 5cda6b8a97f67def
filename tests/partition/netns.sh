# Network partitions for one worker (sourced after tests/integration/lib.sh,
# which provides T, PIDS, CLEANUP_HOOKS, wait_for and fail).
#
# Namespace N (1..250) is "awpart-N", joined to the host by a veth pair
# awpN-h (host side, 10.201.N.1/30) and awpN-n (inside, 10.201.N.2/30). A
# worker started with ns_start_worker runs inside it and reaches only what
# listens on 10.201.N.1 (the host side): the test binds its Redis, Kafka
# listener and webhook there. Workers on the host use the same addresses (a
# local address, so their traffic never crosses the veth or the rules).
#
# Cuts are nftables rules inside the namespace (table inet awpart): they
# drop TCP to/from chosen ports of 10.201.N.1 only, so the webhook stays
# reachable while the broker and/or the state backend are cut:
#   ns_cut N both PORT...  drop both directions
#   ns_cut N out PORT...   drop ns->host only (requests vanish; answers
#                          already queued on the host still arrive)
#   ns_cut N in PORT...    drop host->ns only (requests arrive and are acted
#                          on, answers and ACKs vanish)
#   ns_heal N              remove every rule
# A cut replaces the previous one (one atomic nft transaction), so the
# ruleset is always exactly the last call's. Dropped, not rejected: a real
# partition sends no RST, established connections just go silent.
#
# Everything is idempotent and cleaned up at exit (lib.sh's EXIT trap runs
# the hooks ns_create registers), and ns_create first removes what a killed
# earlier run may have left. One partition test at a time per machine: the
# names are fixed, so ns_lock serialises runs (flock, bounded).
#
# Needs root (CAP_NET_ADMIN), iproute2 and nftables (scripts/install-deps.sh
# installs them; ns_require installs nftables with apt-get when missing).

NS_LOCK=/run/lock/aw-partition.lock
declare -A NS_WORKER_PIDS=() # N -> space-separated pids started in awpart-N

# lib.sh traps EXIT only: a plain SIGTERM/SIGINT (ctest's timeout, Ctrl-C)
# would skip the cleanup and leave namespaces and rules behind.
trap 'exit 143' TERM
trap 'exit 130' INT

ns_name() { echo "awpart-$1"; }
ns_host_ip() { echo "10.201.$1.1"; }
ns_ip() { echo "10.201.$1.2"; }

ns_require() {
    [ "$(id -u)" -eq 0 ] || { echo "SKIP: the partition tests need root (network namespaces)"; exit 77; }
    command -v ip >/dev/null || fail "ip (iproute2) not installed: scripts/install-deps.sh"
    if ! command -v nft >/dev/null; then
        echo "nft missing: installing nftables"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q nftables >"$T/apt.log" 2>&1 \
            || fail "cannot install nftables: $(tail -5 "$T/apt.log")"
    fi
    # A container without CAP_NET_ADMIN fails here, not halfway through.
    ip netns add awpart-probe-$$ 2>"$T/netns-probe.log" \
        || { echo "SKIP: cannot create network namespaces: $(cat "$T/netns-probe.log")"; exit 77; }
    ip netns del awpart-probe-$$
}

# ns_lock: wait (at most 15 min: a whole run of another partition test) for
# the machine-wide lock; held on fd 9 until this shell exits. A child
# inherits fd 9 and would hold the lock as long as it lives: start
# long-lived processes with `9>&-` (ns_start_worker does).
ns_lock() {
    exec 9>"$NS_LOCK"
    flock -w 900 9 || fail "another partition test holds $NS_LOCK for more than 15 min"
}

_ns_link_up() { ip -n "$(ns_name "$1")" link show "awp$1-n" 2>/dev/null | grep -q 'LOWER_UP'; }
_ns_host_up() { ip link show "awp$1-h" 2>/dev/null | grep -q 'LOWER_UP'; }
_ns_gone() { ! ip netns list | grep -qw "$(ns_name "$1")" && ! ip link show "awp$1-h" >/dev/null 2>&1; }

# ns_create N: a fresh namespace with its veth pair, both ends up.
ns_create() {
    local n=$1 ns
    ns=$(ns_name "$n")
    ns_destroy "$n"
    ip netns add "$ns"
    CLEANUP_HOOKS+=("ns_destroy $n")
    ip link add "awp$n-h" type veth peer name "awp$n-n"
    ip link set "awp$n-n" netns "$ns"
    ip addr add "$(ns_host_ip "$n")/30" dev "awp$n-h"
    ip link set "awp$n-h" up
    ip -n "$ns" addr add "$(ns_ip "$n")/30" dev "awp$n-n"
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "awp$n-n" up
    wait_for 10 "veth awp$n up on both ends" eval "_ns_link_up $n && _ns_host_up $n"
    echo "netns $ns: $(ns_ip "$n") <-> host $(ns_host_ip "$n")"
}

# ns_destroy N: stop the workers inside (SIGTERM, 20 s, then SIGKILL), drop
# the rules, the veth pair and the namespace. Safe when nothing exists.
ns_destroy() {
    local n=$1 ns pid pids deadline
    ns=$(ns_name "$n")
    # Ours: pids we started, plus any process a killed earlier run left in
    # the namespace (only this harness creates awpart-N).
    pids="${NS_WORKER_PIDS[$n]:-} $( (ip netns pids "$ns" 2>/dev/null || true) | tr '\n' ' ')"
    for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
    deadline=$((SECONDS + 20))
    for pid in $pids; do
        while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    ip netns exec "$ns" nft delete table inet awpart 2>/dev/null || true
    ip link del "awp$n-h" 2>/dev/null || true # takes the peer end with it
    ip netns del "$ns" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    until _ns_gone "$n"; do
        [ $SECONDS -lt $deadline ] || { echo "netns $ns still present after 10 s" >&2; return 1; }
        sleep 0.1
    done
}

# ns_start_worker N NAME CONFIG: like lib.sh's start_worker, inside awpart-N
# (`ip netns exec` execs, so $! is the worker itself).
ns_start_worker() {
    ip netns exec "$(ns_name "$1")" "$WORKER" --log-level "${LOG_LEVEL:-info}" run -c "$3" \
        >"$T/$2.log" 2>&1 9>&- &
    WORKER_PID=$!
    PIDS+=($WORKER_PID)
    NS_WORKER_PIDS[$1]="${NS_WORKER_PIDS[$1]:-} $WORKER_PID"
}

# ns_cut N DIRECTION PORT...: replace the namespace's rules by a cut of
# these host-side ports (see the top of this file).
ns_cut() {
    local n=$1 dir=$2 host set out_rule="" in_rule=""
    shift 2
    [ $# -ge 1 ] || fail "ns_cut: no port"
    host=$(ns_host_ip "$n")
    set=$(IFS=,; echo "$*")
    case "$dir" in
        both|out) out_rule="ip daddr $host tcp dport { $set } drop" ;;&
        both|in) in_rule="ip saddr $host tcp sport { $set } drop" ;;
        out) ;;
        *) fail "ns_cut: direction must be both, out or in, not '$dir'" ;;
    esac
    # "table; delete table; table {...}" in one transaction: no window
    # without rules, and no error when there was no table yet.
    ip netns exec "$(ns_name "$n")" nft -f - <<NFT || fail "nft: cannot apply the cut"
table inet awpart
delete table inet awpart
table inet awpart {
    chain out {
        type filter hook output priority 0; policy accept;
        $out_rule
    }
    chain in {
        type filter hook input priority 0; policy accept;
        $in_rule
    }
}
NFT
}

ns_heal() {
    ip netns exec "$(ns_name "$1")" nft -f - <<NFT || fail "nft: cannot heal"
table inet awpart
delete table inet awpart
NFT
}

# ns_connects N PORT: true when a TCP connection from inside the namespace
# to the host side's PORT completes within 1 s. A cut in either direction
# stops the handshake (SYN or SYN-ACK dropped), so this proves a cut is in
# place and, after ns_heal, that it is gone.
ns_connects() {
    ip netns exec "$(ns_name "$1")" timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' \
        "$(ns_host_ip "$1")" "$2" 2>/dev/null
}
ns_blocked() { ! ns_connects "$@"; }
