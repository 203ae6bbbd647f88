// Load through the cluster's load balancer: every strategy at once, reads and writes mixed,
// while Redis' primary is killed (SIGKILL) at a third and started again (as a replica) at
// half time, and one instance is stopped at two thirds and started again at five sixths.
// Prints requests, errors (503s apart), p99, the writes that were acknowledged but are not in
// the cart at the end (lost), and how long each strategy answered 503 after the kill.
// Run by scripts/load.sh, which starts the cluster; usage:
//   node scripts/load.mjs --url http://127.0.0.1:3400 --control http://127.0.0.1:3402 \
//     --secret <the run's control secret> [--seconds 60] [--connections 64] [--stop app-2]
import http from "node:http";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, index, all) => {
    if (arg.startsWith("--")) pairs.push([arg.slice(2), all[index + 1]]);
    return pairs;
  }, []),
);
const base = new URL(args.url ?? "http://127.0.0.1:3400");
const control = new URL(args.control ?? "http://127.0.0.1:3402");
const seconds = Number(args.seconds ?? 60);
const connections = Number(args.connections ?? 64);
const victim = args.stop ?? "app-2";
const secret = args.secret ?? "";
const products = 12;
const lineLimit = 95;

/** One HTTP exchange on the visitor's own keep-alive connection. */
function send(agent, url, method, path, { cookies, body, extra = {}, timeoutMs = 10_000 } = {}) {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = { accept: "application/json", ...extra };
    if (payload !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = Buffer.byteLength(payload);
    }
    if (cookies && cookies.size) {
      headers.cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    }
    const started = process.hrtime.bigint();
    const request = http.request(
      { host: url.hostname, port: url.port, method, path, headers, agent },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          let json = null;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString());
          } catch {}
          resolve({ status: response.statusCode, headers: response.headers, body: json, ms });
        });
      },
    );
    request.setTimeout(timeoutMs, () => request.destroy(new Error("timeout")));
    request.on("error", (error) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      resolve({ status: 0, headers: {}, body: { error: String(error) }, ms });
    });
    if (payload !== undefined) request.write(payload);
    request.end();
  });
}

// Every strategy the cluster's instances serve, as they list them.
const strategies = (await send(undefined, base, "GET", "/api/v1/strategies")).body.map((strategy) => strategy.id);

class Visitor {
  constructor(strategy, sticky) {
    this.strategy = strategy;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.cookies = new Map(sticky ? [["lb_mode", "sticky"]] : []);
    this.token = null;
    this.acked = new Array(products + 1).fill(0);
  }

  async call(method, path, body) {
    const target = this.token ? `/api/v1${path}?s=${this.token}` : `/api/v1${path}`;
    const reply = await send(this.agent, base, method, target, { cookies: this.cookies, body });
    for (const line of [].concat(reply.headers["set-cookie"] ?? [])) {
      const [pair] = line.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      if (!value || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const session = reply.body?.session ?? reply.body;
    if (reply.status >= 200 && reply.status < 300 && session?.strategy) {
      this.token = session.strategy === "signed-url" ? session.credential ?? this.token : null;
    }
    return reply;
  }

  async start() {
    this.token = null;
    for (const name of [...this.cookies.keys()]) if (name !== "lb_mode") this.cookies.delete(name);
    this.acked.fill(0);
    const switched = await this.call("PUT", "/session/strategy", { strategy: this.strategy });
    const login = await this.call("POST", "/login", { username: "alice", password: "wonderland" });
    return switched.status === 200 && login.status === 200;
  }
}

const results = Object.fromEntries(
  strategies.map((strategy) => [
    strategy,
    { requests: 0, errors: 0, latencies: [], writes: 0, lost: 0, sessionsLost: 0, statuses: {} },
  ]),
);

/** When the primary was killed, and each strategy's first and last 503 after it. */
let killedAt = null;
const unavailable = {};

function count(visitor, reply) {
  const result = results[visitor.strategy];
  result.requests += 1;
  result.latencies.push(reply.ms);
  if (reply.status === 0 || reply.status >= 400) {
    result.errors += 1;
    result.statuses[reply.status] = (result.statuses[reply.status] ?? 0) + 1;
  }
  if (reply.status === 503 && killedAt !== null) {
    const window = (unavailable[visitor.strategy] ??= { first: Date.now(), last: Date.now() });
    window.last = Date.now();
  }
}

/** The user's cart quantities, by product. */
function quantities(body) {
  const counts = new Array(products + 1).fill(0);
  for (const item of body?.cart?.items ?? []) counts[item.product_id] = item.quantity;
  return counts;
}

const deadline = Date.now() + seconds * 1000;

async function drive(visitor) {
  if (!(await visitor.start())) results[visitor.strategy].errors += 1;
  let turn = 0;
  while (Date.now() < deadline) {
    turn += 1;
    if (turn % 4 === 0) {
      const product = 1 + Math.floor(Math.random() * products);
      if (visitor.acked[product] >= lineLimit) continue;
      const reply = await visitor.call("POST", "/cart/items", { product_id: product, quantity: 1 });
      count(visitor, reply);
      if (reply.status === 200) {
        if (reply.body?.user?.username !== "alice") {
          // The session was gone (memory on a stopped instance): this add went to a new one.
          results[visitor.strategy].sessionsLost += 1;
          await visitor.start();
          continue;
        }
        visitor.acked[product] += 1;
        results[visitor.strategy].writes += 1;
      }
    } else {
      const reply = await visitor.call("GET", "/session");
      count(visitor, reply);
      if (reply.status === 200 && reply.body?.user?.username !== "alice") {
        results[visitor.strategy].sessionsLost += 1;
        await visitor.start();
      }
    }
  }
  // Every acknowledged write must be in the cart.
  const final = await visitor.call("GET", "/session");
  if (final.status === 200 && final.body?.user?.username === "alice") {
    const held = quantities(final.body);
    for (let product = 1; product <= products; product += 1) {
      results[visitor.strategy].lost += Math.max(0, visitor.acked[product] - held[product]);
    }
  } else {
    results[visitor.strategy].sessionsLost += 1;
  }
}

async function act(path) {
  // A kill answers once the failover is over: longer than a shop request may take.
  const reply = await send(undefined, control, "POST", path, {
    extra: { "x-cluster-secret": secret },
    timeoutMs: 60_000,
  });
  console.log(`  ${new Date().toISOString().slice(11, 19)} ${path}: ${reply.status}`);
  return reply;
}

const visitors = Array.from({ length: connections }, (_, index) => {
  const strategy = strategies[index % strategies.length];
  return new Visitor(strategy, strategy === "memory");
});
console.log(
  `==> ${connections} connections for ${seconds} s through ${base.origin}, 3 reads : 1 write; ` +
    `Redis' primary killed at a third and back at half time, ${victim} stopped at two thirds and back at five sixths`,
);
const at = (fraction) => new Promise((done) => setTimeout(done, started + seconds * 1000 * fraction - Date.now()));
const started = Date.now();
let failover = "no failover";
const chaos = (async () => {
  await at(1 / 3);
  killedAt = Date.now();
  const killed = await act("/redis/kill-primary");
  const report = killed.body?.failover;
  failover = report?.promoted
    ? `${report.killed} killed at ${Math.round((killedAt - started) / 1000)} s, ${report.promoted} promoted ${report.after_ms} ms later`
    : `the kill did not lead to a promotion: ${JSON.stringify(killed.body)}`;
  await at(1 / 2);
  if (report?.killed) await act(`/redis/${report.killed}/start`);
  await at(2 / 3);
  await act(`/instances/${victim}/stop`);
  await at(5 / 6);
  await act(`/instances/${victim}/start`);
})();
await Promise.all([...visitors.map(drive), chaos]);

const p99 = (latencies) => {
  const sorted = [...latencies].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] : 0;
};
console.log(`\nRedis failover: ${failover}`);
console.log("\n| strategy | requests | errors but 503 | 503s | 503s after the kill, for | p99 (ms) | writes | lost writes | sessions lost |");
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
let failed = false;
for (const strategy of strategies) {
  const result = results[strategy];
  const refused = result.statuses[503] ?? 0;
  const others = Object.entries(result.statuses)
    .filter(([status]) => status !== "503")
    .map(([status, times]) => `${status}×${times}`)
    .join(" ");
  const window = unavailable[strategy];
  const span = window ? `${((window.last - window.first) / 1000).toFixed(1)} s` : "-";
  console.log(
    `| ${strategy} | ${result.requests} | ${result.errors - refused}${others ? ` (${others})` : ""} | ${refused} | ${span} | ` +
      `${p99(result.latencies).toFixed(1)} | ${result.writes} | ${result.lost} | ${result.sessionsLost} |`,
  );
  // A 503 says the store is away, which a failover is; anything else, or a write or session
  // lost, is a failure.
  if (strategy !== "memory" && (result.errors - refused > 0 || result.lost > 0 || result.sessionsLost > 0)) failed = true;
}
if (failed) {
  console.error("\nerror: a strategy other than memory had errors other than 503, lost writes or lost sessions");
  process.exit(1);
}
