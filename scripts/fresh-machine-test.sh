#!/usr/bin/env bash
# The README's two commands on a brand-new Debian 12, so that a missing
# package cannot hide behind whatever the machine running the tests has
# installed. Needs root (debootstrap, chroot, mounts) and Debian's mirror.
#
#   scripts/fresh-machine-test.sh [--keep]
#
# 1. debootstrap a minimal Debian 12 (bookworm, variant minbase, plus
#    ca-certificates, git, procps and wget: what a minimal install has) into
#    a new folder, with the bookworm-updates and security suites as a real
#    installation has them;
# 2. clone this repository's HEAD into it;
# 3. run README command 1, scripts/dev.sh, until the demo has shown its
#    executed, deduplicated and rejected outcomes, stop it with Ctrl-C
#    (SIGINT) and check its closing summary;
# 4. run README command 2 in its quick form, scripts/test.sh --quick: the
#    full installation, the test servers, the release build, the unit and
#    docs tests and one integration test on each real server.
# Every step has a time bound; the time of each is printed. --keep leaves the
# root in place (else it is deleted). Nothing outside the new root is changed
# but the host's debootstrap package (installed when missing).
#
# Two things of this test machine, not of a user's, are handled here: the
# extra CA certificates the host trusts (Debian's local CA folder) are copied
# into the root, or its HTTPS downloads (Maven, npm) could not be verified;
# and the root is bind-mounted onto itself, because OpenSearch reads
# /proc/self/mounts to find its data folder's mount. Certificate checks are
# never turned off.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
keep=false
[ "${1:-}" = --keep ] && keep=true
[ "$(id -u)" -eq 0 ] || { echo "fresh-machine-test: needs root (debootstrap, chroot)" >&2; exit 2; }
mirror=${AW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
dev_timeout=${AW_FRESH_DEV_TIMEOUT:-900}
test_timeout=${AW_FRESH_TEST_TIMEOUT:-2400}

step() { echo "==== fresh machine: $*"; }
elapsed() { echo "$(( SECONDS - $1 ))s"; }

if ! command -v debootstrap >/dev/null; then
    step "installing debootstrap on the host"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

work=$(mktemp -d /var/tmp/aw-fresh.XXXXXX)
R=$work/root
# Every process still running inside the root, then the root itself.
cleanup() {
    local rc=$? pid
    for pid in $(ls /proc | grep -E '^[0-9]+$'); do
        [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$R" ] && kill -KILL "$pid" 2>/dev/null
    done
    if $keep || [ $rc -ne 0 ]; then
        echo "fresh-machine-test: root kept in $R"
    else
        rm -rf --one-file-system "$work"
    fi
    exit $rc
}
trap cleanup EXIT

t=$SECONDS
step "debootstrap bookworm (minbase + ca-certificates git procps wget) into $R"
timeout 900 debootstrap --variant=minbase --include=ca-certificates,git,procps,wget \
    bookworm "$R" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log" >&2; echo "fresh-machine-test: debootstrap failed" >&2; exit 1; }
cat >"$R/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
EOF
# A chroot must not start the daemons its packages install (redis-server,
# redis-sentinel, postgresql): they would hold ports on the host's network.
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$R/usr/local/share/ca-certificates/"
    chroot "$R" update-ca-certificates >/dev/null 2>&1
fi
git clone -q "$repo" "$R/root/acteon-worker"
step "root ready in $(elapsed "$t")"

# The rest runs in a mount namespace of its own: the mounts vanish with it.
# shellcheck disable=SC2016
unshare --mount --propagation private -- bash -s "$R" "$dev_timeout" "$test_timeout" <<'INNER'
set -euo pipefail
R=$1 dev_timeout=$2 test_timeout=$3
mount --bind "$R" "$R"
mount -t proc proc "$R/proc"
mount -t sysfs sys "$R/sys"
mount --rbind /dev "$R/dev"
# in_root COMMAND: run COMMAND in the repository's clone as root on the new
# machine would, with a clean environment.
in_root() {
    chroot "$R" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        bash -c "cd /root/acteon-worker && $1"
}
step() { echo "==== fresh machine: $*"; }
# The pid of the demo's worker (inside the root, running `acteon-worker dev`).
demo_pid() {
    local p
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$R" ] || continue
        tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q '^build/acteon-worker dev' &&
            { echo "${p#/proc/}"; return 0; }
    done
    return 1
}

# ---- README command 1: the demo, stopped after its outcomes
t=$SECONDS
step "README command 1: scripts/dev.sh"
out=$R/root/dev.out err=$R/root/dev.err
in_root "exec scripts/dev.sh" >"$out" 2>"$err" &
pid=$!
# examples/actions.jsonl: 21 distinct actions, 5 duplicates, 4 malformed.
shown() {
    [ "$(grep -c '^executed ' "$out")" -eq 21 ] &&
        [ "$(grep -c '^deduplicated ' "$out")" -eq 5 ] &&
        [ "$(grep -c '^rejected ' "$out")" -eq 4 ]
}
deadline=$((SECONDS + dev_timeout))
until shown; do
    if [ $SECONDS -ge $deadline ] || ! kill -0 $pid 2>/dev/null; then
        echo "FAIL: scripts/dev.sh showed no 21 executed, 5 deduplicated, 4 rejected" \
            "within ${dev_timeout}s" >&2
        tail -n 40 "$out" "$err" >&2
        exit 1
    fi
    sleep 0.5
done
ready=$((SECONDS - t))
wpid=$(demo_pid) || { echo "FAIL: no demo worker process in the root" >&2; exit 1; }
kill -INT "$wpid" # what Ctrl-C does
deadline=$((SECONDS + 60))
while kill -0 $pid 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "FAIL: the demo did not stop within 60 s of Ctrl-C" >&2; exit 1; }
    sleep 0.2
done
rc=0
wait $pid || rc=$?
[ $rc -eq 0 ] || { echo "FAIL: the demo exited with $rc on Ctrl-C" >&2; tail -n 20 "$err" >&2; exit 1; }
grep -q '^summary: 21 executed, 0 failed, 5 deduplicated, 4 rejected$' "$out" ||
    { echo "FAIL: no closing summary" >&2; tail -n 5 "$out" >&2; exit 1; }
[ ! -s "$err" ] || { echo "note: the demo wrote to stderr:"; cat "$err"; }
step "README command 1 passed: outcomes shown ${ready}s after the start (install + build + demo)"

# ---- README command 2, quick form
t=$SECONDS
step "README command 2 (quick form): scripts/test.sh --quick"
# The whole output is kept; the step lines are shown as they come.
timeout "$test_timeout" bash -c "$(declare -f in_root); R='$R'; in_root 'scripts/test.sh --quick'" \
    2>&1 | tee "$R/root/test.out" |
    grep --line-buffered -E '^(====|FAIL|note:|install-deps|started |FAILED|test servers|all test)' || true
grep -q '^all test tiers passed$' "$R/root/test.out" ||
    { echo "FAIL: scripts/test.sh --quick on the fresh root (last lines:)" >&2
      tail -n 80 "$R/root/test.out" >&2; exit 1; }
step "README command 2 (quick) passed in $((SECONDS - t))s"
INNER
step "passed"
