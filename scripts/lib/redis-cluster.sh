# A throwaway three-primary Redis Cluster on loopback, for the test command (sourced).
# redis_cluster_start DIR PORT: nodes on PORT, PORT+1 and PORT+2 (their cluster bus 10000
# above), no persistence, the 16384 slots split between them; returns once every node reports
# the cluster ok, and exports REDIS_CLUSTER_URL in fred's form. redis_cluster_stop DIR.
redis_cluster_start() {
  local dir=$1 port=$2 node nodes=()
  mkdir -p "$dir"
  for node in "$port" $((port + 1)) $((port + 2)); do
    redis-server --bind 127.0.0.1 --port "$node" --save "" --appendonly no \
      --cluster-enabled yes --cluster-config-file "$dir/nodes-$node.conf" \
      --cluster-node-timeout 2000 --daemonize yes --pidfile "$dir/redis-$node.pid" \
      --logfile "$dir/redis-$node.log" --dir "$dir"
    nodes+=("127.0.0.1:$node")
  done
  for node in "${nodes[@]}"; do
    for _ in $(seq 50); do redis-cli -u "redis://$node" ping >/dev/null 2>&1 && break; sleep 0.1; done
    if [[ "$(redis-cli -u "redis://$node" dbsize 2>/dev/null)" != 0 ]]; then
      echo "error: $node is taken (a cluster left from an earlier run?)" >&2
      return 1
    fi
  done
  if ! redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1; then
    cat "$dir/create.log" >&2
    return 1
  fi
  for node in "${nodes[@]}"; do
    local ok=""
    for _ in $(seq 100); do
      redis-cli -u "redis://$node" cluster info | grep -q '^cluster_state:ok' && ok=1 && break
      sleep 0.1
    done
    [[ -n "$ok" ]] || { echo "error: the Redis Cluster on $node is not ok" >&2; return 1; }
  done
  export REDIS_CLUSTER_URL="redis-cluster://${nodes[0]}?node=${nodes[1]}&node=${nodes[2]}"
}

redis_cluster_stop() {
  local dir=$1 pidfile
  for pidfile in "$dir"/redis-*.pid; do
    [[ -e "$pidfile" ]] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
}
