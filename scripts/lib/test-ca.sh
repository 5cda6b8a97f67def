# A throw-away certificate authority for the TLS tests (sourced; the caller
# defines die()). Test infrastructure only: keys are unencrypted and live in
# the test's own directory.
#
#   test_ca DIR                 DIR/ca.pem + DIR/ca.key (made once, kept)
#   test_cert DIR NAME SAN      DIR/NAME.pem + DIR/NAME.key signed by the CA
#                               of DIR; SAN as openssl writes it, e.g.
#                               "IP:127.0.0.1,DNS:localhost"
# Needs openssl on PATH (scripts/install-deps.sh installs it).

test_ca() {
    local dir=$1
    command -v openssl >/dev/null || die "openssl not found on PATH"
    mkdir -p "$dir"
    [ -s "$dir/ca.pem" ] && [ -s "$dir/ca.key" ] && return 0
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=acteon-worker test CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" >"$dir/ca.log" 2>&1 \
        || die "openssl could not make the test CA: $(cat "$dir/ca.log")"
}

test_cert() {
    local dir=$1 name=$2 san=$3
    test_ca "$dir"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" \
        -keyout "$dir/$name.key" -out "$dir/$name.csr" >"$dir/$name.log" 2>&1 \
        || die "openssl could not make the $name key: $(cat "$dir/$name.log")"
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" >"$dir/$name.ext"
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 2 -extfile "$dir/$name.ext" -out "$dir/$name.pem" \
        >>"$dir/$name.log" 2>&1 \
        || die "openssl could not sign the $name certificate: $(cat "$dir/$name.log")"
}
