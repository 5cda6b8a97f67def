# Shared by the scripts that run a JVM test server from Maven Central jars
# (kafka-broker.sh, opensearch-node.sh). Sourced; the caller defines die().

# shellcheck source=scripts/lib/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

abs_dir() { mkdir -p "$1" && (cd "$1" && pwd); }

# await_start NAME PID LOG TIMEOUT_S ATTEMPT READY_CMD...: poll READY_CMD
# until it succeeds (return 0). If the process exits first because its port
# was taken meanwhile (and ATTEMPT < 3), return 2 so that the caller picks
# other ports; any other exit or the deadline dies with the log's last lines
# (the caller's stop_on_timeout function stops a process that hangs).
await_start() {
    local name=$1 pid=$2 log=$3 timeout=$4 attempt=$5 deadline
    shift 5
    deadline=$((SECONDS + timeout))
    until "$@"; do
        if ! alive "$pid"; then
            if grep -q 'BindException\|Address already in use' "$log" && [ "$attempt" -lt 3 ]; then
                echo "$name: port taken meanwhile, retrying" >&2
                return 2
            fi
            tail -n 40 "$log" >&2
            die "exited during start-up (log: $log)"
        fi
        if [ $SECONDS -ge $deadline ]; then
            tail -n 40 "$log" >&2
            stop_on_timeout || true
            die "not ready within ${timeout}s (log: $log)"
        fi
        sleep 0.3
    done
}

# jars_fetched POM DIR GLOB...: DIR holds the jars of this POM (checksum
# stamp) and a file matching each GLOB.
jars_fetched() {
    local pom=$1 dir=$2 stamp="$2/.pom.sha256" g
    shift 2
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(sha256sum "$pom" | cut -d' ' -f1)" ] || return 1
    for g in "$@"; do compgen -G "$dir/$g" >/dev/null || return 1; done
}

# fetch_jars NAME POM DIR GLOB...: copy the POM's runtime dependencies into
# DIR with Maven (skipped when jars_fetched); DIR must be absolute (a
# relative outputDirectory is taken from the POM's folder).
fetch_jars() {
    local name=$1 pom=$2 dir=$3 t0=$SECONDS
    shift 3
    if jars_fetched "$pom" "$dir" "$@"; then
        echo "$name: jars already in $dir"
        return 0
    fi
    command -v mvn >/dev/null || die "mvn not found on PATH (Maven needed to fetch the $name jars)"
    rm -rf "$dir"
    mkdir -p "$dir"
    # Maven's whole output goes to a log; on failure its errors are shown
    # (with -q, a failed download showed only "No plugin found for prefix").
    local log
    log=$(mktemp)
    if ! mvn -B -ntp -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$dir" >"$log" 2>&1; then
        { grep -E '^\[(ERROR|WARNING)\]' "$log" | head -n 40; echo "--- last lines:"; tail -n 15 "$log"; } >&2
        rm -f "$log"
        die "mvn could not fetch the $name jars (Maven's errors above)"
    fi
    rm -f "$log"
    sha256sum "$pom" | cut -d' ' -f1 >"$dir/.pom.sha256"
    jars_fetched "$pom" "$dir" "$@" || die "the $name jars are incomplete in $dir after mvn"
    echo "$name: fetched $(ls "$dir"/*.jar | wc -l) jars into $dir in $((SECONDS - t0))s"
}

# alive PID: the process exists and is not a zombie.
alive() {
    local st
    [ -r "/proc/$1/stat" ] || return 1
    st=$(sed 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f1)
    [ "$st" != Z ]
}

# stop_pidfile NAME PIDFILE TIMEOUT_S: SIGTERM the process in PIDFILE, wait
# up to TIMEOUT_S for it to go (a zombie counts as gone), then SIGKILL;
# removes PIDFILE. No PIDFILE: nothing to do.
stop_pidfile() {
    local name=$1 pidfile=$2 timeout=$3 pid deadline
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        deadline=$((SECONDS + timeout))
        while alive "$pid"; do
            if [ $SECONDS -ge $deadline ]; then
                echo "$name: pid $pid still running after ${timeout}s, SIGKILL" >&2
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.2
        done
    fi
    rm -f "$pidfile"
}

# stop_server NAME DIR PIDFILE_NAME READY_FILE_NAME: the common `stop DIR`.
stop_server() {
    local dir
    dir=$(abs_dir "$2")
    stop_pidfile "$1" "$dir/$3" "$stop_timeout"
    rm -f "${dir:?}/$4"
}

# jvm_main ARG...: dispatch `SCRIPT COMMAND ARG...` to the caller's
# cmd_COMMAND (dashes become underscores), else usage.
jvm_main() {
    [ $# -ge 1 ] || usage
    local fn="cmd_${1//-/_}"
    shift
    declare -F "$fn" >/dev/null || usage
    "$fn" "$@"
}
