#!/usr/bin/env bash
# A throwaway PostgreSQL for the catalog integration test (tests/integration/).
#
# Sourced by .ci/run (with `set -euo pipefail` active), so it must not exit the caller on harmless
# conditions; a real failure (cannot install, cannot start) does fail the run. It:
#   - installs Debian's `postgresql` package if no PostgreSQL server binaries are present (as root),
#   - initdb's a private cluster in $OAKLAKE_PG_DIR (default /tmp/oaklake-ci-postgres) as the
#     `postgres` user, listening on 127.0.0.1 only, on a free port — it never touches a system
#     cluster such as 15/main,
#   - starts it (or reuses it when it is already running: sourcing twice is fine),
#   - creates the role and database `oaklake_test` (the role may create further databases: each
#     test creates its own),
#   - exports OAKLAKE_TEST_PG_URI=postgresql+psycopg2://oaklake_test:…@127.0.0.1:PORT/oaklake_test.
# Stop it with: runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl stop \
#   -D /tmp/oaklake-ci-postgres/data
# Run directly (not sourced), it prints the export line instead.

# Called from `if` below, the function runs without errexit: every step checks itself.
_oaklake_pg_main() {
  local dir="${OAKLAKE_PG_DIR:-${TMPDIR:-/tmp}/oaklake-ci-postgres}"
  local data="$dir/data" role="oaklake_test" db="oaklake_test"
  # A throwaway password for a server that only listens on 127.0.0.1 and lives for one CI run.
  local password="oaklake_test_pw"
  local bin="" port="" owner="" started
  started=$(date +%s)

  _oaklake_pg_bin() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
      if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
        echo "$d"
        return 0
      fi
    done
    return 0
  }

  # Run a command as the cluster's owner: `postgres` when we are root (initdb refuses root).
  _oaklake_pg_as() {
    if [ "$(id -u)" -eq 0 ]; then
      if command -v runuser >/dev/null 2>&1; then
        runuser -u postgres -- "$@"
      else
        su -s /bin/sh postgres -c "$(printf '%q ' "$@")"
      fi
    else
      "$@"
    fi
  }

  bin=$(_oaklake_pg_bin)
  if [ -z "$bin" ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "postgres.sh: no PostgreSQL server found and not root: install Debian's postgresql" >&2
      return 1
    fi
    echo "postgres.sh: installing Debian's postgresql package (20-60 s)…" >&2
    local log
    log=$(mktemp) || return 1
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends postgresql; } >"$log" 2>&1; then
      tail -n 30 "$log" >&2
      rm -f "$log"
      return 1
    fi
    rm -f "$log"
    bin=$(_oaklake_pg_bin)
    if [ -z "$bin" ]; then
      echo "postgres.sh: postgresql installed but no initdb under /usr/lib/postgresql" >&2
      return 1
    fi
  fi
  if [ "$(id -u)" -eq 0 ]; then
    owner="postgres"
    if ! id postgres >/dev/null 2>&1; then
      echo "postgres.sh: the postgres system user is missing" >&2
      return 1
    fi
  fi

  mkdir -p "$dir" || return 1
  chmod 700 "$dir" || return 1
  if [ -n "$owner" ]; then chown "$owner:" "$dir" || return 1; fi

  if [ ! -f "$data/PG_VERSION" ]; then
    rm -rf "$data" || return 1
    _oaklake_pg_as "$bin/initdb" -D "$data" -U postgres --auth-local=trust \
      --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 --no-instructions >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      return 1
    }
  fi

  if _oaklake_pg_as "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1; then
    # Already running (sourced a second time): line 4 of postmaster.pid is its port.
    port=$(sed -n 4p "$data/postmaster.pid") || return 1
  else
    # A free port on 127.0.0.1, chosen by the kernel.
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') || return 1
    if ! _oaklake_pg_as "$bin/pg_ctl" start -D "$data" -w -t 60 -l "$dir/server.log" \
      -o "-c listen_addresses=127.0.0.1 -p $port -k '$dir' -c fsync=off" >/dev/null; then
      echo "postgres.sh: PostgreSQL did not start; the end of $dir/server.log:" >&2
      tail -n 20 "$dir/server.log" >&2 || true
      return 1
    fi
  fi

  # pg_ctl -w already waited; this makes sure TCP connections are accepted too.
  local tries=0
  until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
      echo "postgres.sh: PostgreSQL on 127.0.0.1:$port does not accept connections" >&2
      return 1
    fi
    sleep 0.5
  done

  local psql=("$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres)
  _oaklake_pg_as "${psql[@]}" -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN
        CREATE ROLE $role LOGIN CREATEDB;
      END IF;
    END \$\$;
    ALTER ROLE $role WITH LOGIN CREATEDB PASSWORD '$password';" >/dev/null || return 1
  if [ "$(_oaklake_pg_as "${psql[@]}" -tA -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != "1" ]; then
    _oaklake_pg_as "${psql[@]}" -c "CREATE DATABASE $db OWNER $role" >/dev/null || return 1
  fi

  export OAKLAKE_TEST_PG_URI="postgresql+psycopg2://$role:$password@127.0.0.1:$port/$db"
  echo "postgres.sh: PostgreSQL $("$bin/pg_ctl" --version | awk '{print $3}') ready on" \
    "127.0.0.1:$port in $(($(date +%s) - started)) s; OAKLAKE_TEST_PG_URI=$OAKLAKE_TEST_PG_URI" >&2
}

if _oaklake_pg_main; then
  unset -f _oaklake_pg_main _oaklake_pg_bin _oaklake_pg_as
  if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    echo "export OAKLAKE_TEST_PG_URI='$OAKLAKE_TEST_PG_URI'"
  fi
else
  unset -f _oaklake_pg_main _oaklake_pg_bin _oaklake_pg_as
  echo "postgres.sh: could not provide a PostgreSQL server" >&2
  # Sourced: hand the failure to the caller (whose `set -e` ends the run); run directly: exit.
  return 1 2>/dev/null || exit 1
fi
