# A throwaway PostgreSQL on loopback, for the test command and the cluster run (sourced).
# pg_start DIR PORT: a fresh cluster in DIR (owned by the postgres user), trust auth, no fsync;
# prints nothing, exports PG_URL. pg_stop DIR: stops it at once.
pg_bin() {
  dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)"
}

pg_start() {
  local dir=$1 port=$2 bin
  bin=$(pg_bin)
  mkdir -p "$dir"
  chown postgres "$dir"
  runuser -u postgres -- "$bin/initdb" -D "$dir/pg" --auth=trust -U postgres >/dev/null
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  export PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

pg_stop() {
  local dir=$1
  runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$dir/pg" -m immediate stop >/dev/null 2>&1 || true
}
