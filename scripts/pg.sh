# Start and stop a throwaway PostgreSQL server on loopback (sourced).
# shellcheck shell=bash

pg_bin() {
    local bin
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -z "$bin" ]; then echo "PostgreSQL server binaries not found" >&2; return 1; fi
    echo "$bin"
}

pg_start() {
    PG_BIN="$(pg_bin)"
    # PG_PARENT (default /tmp): where the data directory goes. scripts/test.sh puts it
    # on tmpfs with the tests' folders: every test creates a database from a template,
    # and on this machine's disk that CREATE DATABASE took 0.17-0.30 s against 0.024 s
    # on /dev/shm (fsync is off either way; the server is thrown away).
    PG_DIR="$(mktemp -d "${PG_PARENT:-/tmp}/survey-pg.XXXXXX")"
    PG_PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    mkdir -p "$PG_DIR/data" "$PG_DIR/sock"
    # The server refuses to run as root: run it as the postgres user.
    local run=()
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres:postgres "$PG_DIR"
        run=(runuser -u postgres --)
    fi
    "${run[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 >/dev/null
    "${run[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -l "$PG_DIR/server.log" \
        -o "-p $PG_PORT -k $PG_DIR/sock -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 -c max_wal_size=256MB" \
        start >/dev/null
    PG_RUN=("${run[@]}")
    PG_URL="postgresql+psycopg://postgres@127.0.0.1:${PG_PORT}/postgres"
    export PG_URL
    echo "    PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:${PG_PORT}"
}

pg_stop() {
    if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
        "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null || true
        rm -rf "$PG_DIR"
    fi
}
