#!/usr/bin/env bash
# Local services for development, tests and the demo:
#   MariaDB on 127.0.0.1:3306 (user dynamigrate / password dynamigrate, all privileges)
#   DynamoDB Local on 127.0.0.1:${DYNAMIGRATE_DDB_PORT:-8000} (in memory, -sharedDb)
#
# usage: scripts/services.sh start|stop|status
#
# Idempotent: `start` only does what is missing (install, fetch, start), so a second run takes
# seconds. `stop` stops only what this script started (pid/marker files under .cache/).
# Runs as root (installs MariaDB with apt-get when absent) or as a user with a running MariaDB.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
DDB_DIR="$CACHE/dynamodb-local"
DDB_VERSION="2.9.30"
DDB_PORT="${DYNAMIGRATE_DDB_PORT:-8000}"
DDB_PID="$CACHE/dynamodb-local.pid"
DDB_LOG="$CACHE/dynamodb-local.log"
MYSQL_HOST=127.0.0.1
MYSQL_PORT="${DYNAMIGRATE_MYSQL_PORT:-3306}"
MYSQL_LOG="$CACHE/mariadb.log"
MYSQL_MARKER="$CACHE/mariadb.started-by-us"
DM_USER=dynamigrate
DM_PASSWORD=dynamigrate
# one lock for the whole machine: MariaDB's port is global, and parallel test sessions may race here
LOCK_FILE="${TMPDIR:-/tmp}/dynamigrate-services.lock"

export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-dummy}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-dummy}"
export PATH="$PATH:/usr/sbin:/sbin"

say() { printf '[services] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

mkdir -p "$CACHE"

# ---------------------------------------------------------------- MariaDB

mysql_answers() {
    # the server answers when it accepts or refuses a login (the user may not exist yet)
    command -v mariadb-admin >/dev/null 2>&1 || return 1
    local out
    out="$(mariadb-admin --no-defaults --protocol=tcp -h "$MYSQL_HOST" -P "$MYSQL_PORT" \
        --connect-timeout=2 -u "$DM_USER" "-p$DM_PASSWORD" ping 2>&1)" && return 0
    case "$out" in
        *"Access denied"* | *"is not allowed to connect"*) return 0 ;;
        *) return 1 ;;
    esac
}

dm_user_works() {
    mariadb --no-defaults --protocol=tcp -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$DM_USER" "-p$DM_PASSWORD" \
        -N -e "SELECT 1" >/dev/null 2>&1
}

binlog_is_off() {
    # true only when the server positively says the binary log is off or not in ROW format
    local out
    out="$(mariadb --no-defaults --protocol=tcp -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$DM_USER" \
        "-p$DM_PASSWORD" -N -e "SELECT CONCAT(@@log_bin, ':', @@binlog_format)" 2>/dev/null)" \
        || out="$(as_admin -e "SELECT CONCAT(@@log_bin, ':', @@binlog_format)" 2>/dev/null)" || return 1
    [ -n "$out" ] && [ "$out" != "1:ROW" ]
}

as_admin() {
    # root over the unix socket (Debian's default unix_socket authentication for root)
    mariadb --no-defaults -u root -N "$@"
}

install_mariadb() {
    if command -v mariadbd >/dev/null 2>&1; then
        return 0
    fi
    [ "$(id -u)" = 0 ] || die "MariaDB is not installed and I am not root: apt-get install mariadb-server"
    say "installing MariaDB (apt-get)..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # the package's postinst may try to start the server through invoke-rc.d; without an init
    # system that just fails harmlessly, and we start the server ourselves below
    apt-get install -y -qq --no-install-recommends mariadb-server mariadb-client libmariadb-java >/dev/null
    command -v mariadbd >/dev/null 2>&1 || die "mariadbd still missing after apt-get install"
}

install_jdbc_driver() {
    # the Spark engine reads the views through JDBC with Debian's MariaDB Connector/J
    [ -e /usr/share/java/mariadb-java-client.jar ] && return 0
    [ "$(id -u)" = 0 ] || { say "warning: libmariadb-java missing (Spark engine): apt-get install libmariadb-java"; return 0; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libmariadb-java >/dev/null \
        || say "warning: could not install libmariadb-java (needed by the Spark engine only)"
}

start_mariadb() {
    install_mariadb
    install_jdbc_driver
    if mysql_answers && binlog_is_off; then
        # a server this script started before the binary log was part of its settings: restart it
        # with them (replicate needs it); a server started by someone else is left alone
        if [ -f "$MYSQL_MARKER" ]; then
            say "MariaDB runs without the ROW binary log: restarting it with the current settings"
            stop_mariadb
        else
            say "warning: MariaDB on $MYSQL_HOST:$MYSQL_PORT runs without the ROW binary log and was not" \
                "started by this script; dynamigrate replicate (and its tests) need log_bin=ON, binlog_format=ROW"
        fi
    fi
    if mysql_answers; then
        say "MariaDB already answers on $MYSQL_HOST:$MYSQL_PORT"
    else
        say "starting MariaDB on $MYSQL_HOST:$MYSQL_PORT ..."
        install -d -o mysql -g mysql /run/mysqld 2>/dev/null || mkdir -p /run/mysqld
        if [ ! -d /var/lib/mysql/mysql ]; then
            say "initialising the data directory"
            mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
        fi
        # settings for a disposable development server: fast bulk loads, large items, utf8mb4.
        # sql_mode stays the server default on purpose. The binary log (ROW, full images and
        # metadata) is on for `dynamigrate replicate` (docs/replication.md); kept two days.
        setsid nohup mysqld_safe --user=mysql --bind-address="$MYSQL_HOST" --port="$MYSQL_PORT" \
            --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
            --max-allowed-packet=64M --local-infile=1 \
            --innodb-flush-log-at-trx-commit=2 --innodb-buffer-pool-size=512M \
            --log-bin=mariadb-bin --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL \
            --server-id=1 --log-slave-updates --binlog-expire-logs-seconds=172800 \
            >>"$MYSQL_LOG" 2>&1 </dev/null 9>&- &
        echo $! >"$MYSQL_MARKER"
        local i
        for i in $(seq 1 120); do
            mysql_answers && break
            sleep 0.5
        done
        mysql_answers || { tail -n 30 "$MYSQL_LOG" /var/log/mysql/error.log 2>/dev/null >&2 || true
            die "MariaDB did not come up; see $MYSQL_LOG"; }
        say "MariaDB is up"
    fi
    if ! dm_user_works; then
        say "creating user $DM_USER"
        as_admin <<SQL || die "cannot create user $DM_USER (need root access over the unix socket)"
CREATE USER IF NOT EXISTS '$DM_USER'@'127.0.0.1' IDENTIFIED BY '$DM_PASSWORD';
CREATE USER IF NOT EXISTS '$DM_USER'@'localhost' IDENTIFIED BY '$DM_PASSWORD';
ALTER USER '$DM_USER'@'127.0.0.1' IDENTIFIED BY '$DM_PASSWORD';
ALTER USER '$DM_USER'@'localhost' IDENTIFIED BY '$DM_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$DM_USER'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$DM_USER'@'localhost' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
        dm_user_works || die "user $DM_USER still cannot log in"
    fi
}

stop_mariadb() {
    if [ ! -f "$MYSQL_MARKER" ]; then
        mysql_answers && say "MariaDB runs but was not started by this script; leaving it alone"
        return 0
    fi
    if mysql_answers; then
        say "stopping MariaDB"
        mariadb-admin --no-defaults -u root shutdown 2>/dev/null ||
            mariadb-admin --no-defaults --protocol=tcp -h "$MYSQL_HOST" -P "$MYSQL_PORT" \
                -u "$DM_USER" "-p$DM_PASSWORD" shutdown
        local i
        for i in $(seq 1 60); do
            mysql_answers || break
            sleep 0.5
        done
    fi
    rm -f "$MYSQL_MARKER"
}

# ---------------------------------------------------------------- DynamoDB Local

ddb_answers() {
    # any DynamoDB-shaped JSON answer counts (even an authentication complaint)
    local body
    body="$(curl -s -m 3 -X POST "http://127.0.0.1:$DDB_PORT/" \
        -H 'Content-Type: application/x-amz-json-1.0' \
        -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
        -H 'Authorization: AWS4-HMAC-SHA256 Credential=dummy/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
        -d '{}' 2>/dev/null)" || return 1
    case "$body" in
        *TableNames* | *__type*) return 0 ;;
        *) return 1 ;;
    esac
}

fetch_ddb() {
    if [ -f "$DDB_DIR/package/emulator/DynamoDBLocal.jar" ]; then
        return 0
    fi
    command -v npm >/dev/null 2>&1 || die "npm is needed once to fetch DynamoDB Local (apt-get install npm)"
    say "fetching DynamoDB Local (npm pack amplify-dynamodb-simulator@$DDB_VERSION, ~56 MB)..."
    mkdir -p "$DDB_DIR"
    local tgz="$DDB_DIR/amplify-dynamodb-simulator-$DDB_VERSION.tgz"
    if [ ! -f "$tgz" ]; then
        (cd "$DDB_DIR" && npm pack --silent "amplify-dynamodb-simulator@$DDB_VERSION" >/dev/null)
    fi
    tar -xzf "$tgz" -C "$DDB_DIR" package/emulator
    [ -f "$DDB_DIR/package/emulator/DynamoDBLocal.jar" ] || die "DynamoDBLocal.jar not found in $tgz"
}

start_ddb() {
    if ddb_answers; then
        say "DynamoDB Local already answers on port $DDB_PORT"
        return 0
    fi
    fetch_ddb
    if ! command -v java >/dev/null 2>&1; then
        [ "$(id -u)" = 0 ] || die "java is missing: apt-get install openjdk-17-jre-headless"
        say "installing Java (apt-get)..."
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
    fi
    say "starting DynamoDB Local on port $DDB_PORT ..."
    local emu="$DDB_DIR/package/emulator"
    # the child writes its own pid (setsid may fork, so $! would name the wrong process)
    # A simple command (no subshell or list) so that `9>&-` really closes the lock in every process
    # that outlives this script.
    DDB_PID="$DDB_PID" setsid nohup bash -c 'cd "$1" && shift && echo $$ >"$DDB_PID" && exec "$@"' \
        start-dynamodb-local "$CACHE" \
        java -Xms128m -Xmx1g -Djava.library.path="$emu/DynamoDBLocal_lib" \
        -jar "$emu/DynamoDBLocal.jar" -inMemory -sharedDb -port "$DDB_PORT" \
        >>"$DDB_LOG" 2>&1 </dev/null 9>&- &
    local i
    for i in $(seq 1 120); do
        ddb_answers && break
        sleep 0.25
    done
    ddb_answers || { tail -n 30 "$DDB_LOG" >&2; die "DynamoDB Local did not come up; see $DDB_LOG"; }
    say "DynamoDB Local is up (pid $(cat "$DDB_PID"))"
}

stop_ddb() {
    if [ -f "$DDB_PID" ]; then
        local pid
        pid="$(cat "$DDB_PID")"
        if kill -0 "$pid" 2>/dev/null; then
            say "stopping DynamoDB Local (pid $pid)"
            kill "$pid" 2>/dev/null || true
            local i
            for i in $(seq 1 40); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.25
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$DDB_PID"
    elif ddb_answers; then
        say "DynamoDB Local runs but was not started by this script; leaving it alone"
    fi
}

# ---------------------------------------------------------------- main

status() {
    local rc=0
    if mysql_answers; then
        local v
        v="$(mariadb --no-defaults --protocol=tcp -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$DM_USER" \
            "-p$DM_PASSWORD" -N -e 'SELECT VERSION()' 2>/dev/null || echo '? (user dynamigrate cannot log in)')"
        echo "mariadb:        running on $MYSQL_HOST:$MYSQL_PORT, version $v$([ -f "$MYSQL_MARKER" ] && echo ', started by services.sh')"
    else
        echo "mariadb:        not running"
        rc=1
    fi
    if ddb_answers; then
        echo "dynamodb-local: running on http://127.0.0.1:$DDB_PORT$([ -f "$DDB_PID" ] && echo ", pid $(cat "$DDB_PID")")"
    else
        echo "dynamodb-local: not running"
        rc=1
    fi
    return $rc
}

case "${1:-}" in
    start)
        exec 9>"$LOCK_FILE"
        flock -w 300 9 || die "another services.sh holds $LOCK_FILE"
        start_mariadb
        start_ddb
        ;;
    stop)
        exec 9>"$LOCK_FILE"
        flock -w 120 9 || die "another services.sh holds $LOCK_FILE"
        stop_ddb
        stop_mariadb
        ;;
    status) status ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
