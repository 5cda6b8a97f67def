# free_ports [N]: N (default 1) distinct free TCP ports on 127.0.0.1, on one
# line, all held open while choosing so that none is picked twice. Another
# process can still take one before the caller binds it: callers retry a
# start whose port was taken. Sourced by the server scripts; needs python3.
free_ports() {
    python3 - "${1:-1}" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}
