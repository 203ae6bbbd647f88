// The benchmark table: every strategy's session read (GET /api/v1/session, logged in, two cart
// lines) and cart write (PUT /api/v1/cart/items/3, alternating quantities so every request
// stores) beside the app's no-session route (GET /api/v1/products as a guest), with wrk, in one
// run against one server. Requests rotate over as many sessions as connections, as many
// visitors would make them (one session written by every connection at once would measure
// its write lock instead). Run by scripts/bench.sh, which builds and starts the release server.
// Reads are measured in rounds (--rounds, default 5), each right after a no-session run: the
// table gives medians, and each round's share in brackets. Writes run in the same rounds, each
// right after its strategy's read, and the table gives their medians too (rate and p99): one
// run's p99 on a shared host is one scheduler hiccup away from another figure.
// Given the server's and Redis's process ids (--server-pid, --redis-pid, as scripts/bench.sh
// passes them), it also gives the CPU time each spent per request, from /proc: on a machine
// whose speed moves from one run to the next the shares move with it, this much less.
// Each read is checked against its target share (TARGETS; every p99 under 5 ms), and a cart
// change's cost (bytes sent back, signatures computed) is read from /api/v1/compare.
//   node scripts/bench.mjs --url http://127.0.0.1:3600 [--seconds 5] [--connections 32] [--rounds 5] [--only jwt,sql]
//     [--server-pid PID] [--redis-pid PID]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, index, all) => {
    if (arg.startsWith("--")) pairs.push([arg.slice(2), all[index + 1]]);
    return pairs;
  }, []),
);
const base = new URL(args.url ?? "http://127.0.0.1:3600");
const seconds = Number(args.seconds ?? 5);
const connections = Number(args.connections ?? 32);
const scratch = mkdtempSync(join(tmpdir(), "bench-"));
const measured = [args["server-pid"], args["redis-pid"]].map((pid) => (pid ? Number(pid) : null));
// Clock ticks per second for /proc/<pid>/stat's times (`getconf CLK_TCK`; 100 on Linux).
const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** CPU time (user + system) process `pid` has used, in seconds; null without a pid. */
function cpuSeconds(pid) {
  if (!pid) return null;
  // Fields after the command (which is in parentheses and may hold spaces): utime is the 14th
  // field of the line, stime the 15th.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

function call(method, path, { cookies = new Map(), body } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = { accept: "application/json" };
    if (payload !== undefined) headers["content-type"] = "application/json";
    if (cookies.size) headers.cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join("; ");
    const request = http.request(
      { host: base.hostname, port: base.port, method, path, headers },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () => {
          for (const line of [].concat(response.headers["set-cookie"] ?? [])) {
            const [pair] = line.split(";");
            const at = pair.indexOf("=");
            if (/max-age=0/i.test(line) || at === pair.length - 1) cookies.delete(pair.slice(0, at));
            else cookies.set(pair.slice(0, at), pair.slice(at + 1));
          }
          let json = null;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString());
          } catch {}
          resolve({ status: response.statusCode, body: json });
        });
      },
    );
    request.on("error", reject);
    if (payload !== undefined) request.write(payload);
    request.end();
  });
}

/** A logged-in session with two cart lines under `strategy`: its cookie header (and the cookies
 * as a map, for `call`) and URL query. */
async function session(strategy) {
  const cookies = new Map();
  let query = "";
  const step = async (method, path, body) => {
    const reply = await call(method, `${path}${query}`, { cookies, body });
    if (reply.status !== 200) throw new Error(`${strategy}: ${method} ${path} answered ${reply.status}`);
    const view = reply.body?.session ?? reply.body;
    if (view?.strategy === "signed-url" && view.credential) query = `?s=${view.credential}`;
    return reply;
  };
  await step("PUT", "/api/v1/session/strategy", { strategy });
  await step("POST", "/api/v1/login", { username: "alice", password: "wonderland" });
  await step("POST", "/api/v1/cart/items", { product_id: 1, quantity: 2 });
  await step("POST", "/api/v1/cart/items", { product_id: 3, quantity: 1 });
  const cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  return { cookie, cookies, query };
}

/** Runs wrk over `visitors` ({cookie, query} each, in turn); requests per second, p99 in ms and
 * failed responses. */
function wrk(path, visitors = [{ cookie: "", query: "" }], { write = false } = {}) {
  const script = join(scratch, `script-${Math.random().toString(36).slice(2)}.lua`);
  const lua = (value) => JSON.stringify(value);
  const list = visitors.map(({ cookie, query }) => `{ ${lua(cookie)}, ${lua(path + query)} }`).join(",\n  ");
  const call = write
    ? `wrk.format("PUT", v[2], headers(v[1]), '{"quantity":' .. (math.floor(n / #visitors) % 2 + 1) .. '}')`
    : `wrk.format("GET", v[2], headers(v[1]))`;
  writeFileSync(
    script,
    `local visitors = {\n  ${list}\n}\nlocal n = 0\n` +
      `local function headers(cookie)\n  local h = { ["Accept"] = "application/json", ["Content-Type"] = "application/json" }\n` +
      `  if cookie ~= "" then h["Cookie"] = cookie end\n  return h\nend\n` +
      `request = function()\n  n = n + 1\n  local v = visitors[n % #visitors + 1]\n  return ${call}\nend\n`,
  );
  const before = measured.map(cpuSeconds);
  const output = execFileSync(
    "wrk",
    ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "-s", script, base.origin],
    { encoding: "utf8" },
  );
  const after = measured.map(cpuSeconds);
  const requests = Number(/(\d+) requests in/.exec(output)?.[1] ?? 0);
  // Microseconds of CPU per request, server and Redis; NaN where not measured.
  const [serverUs, redisUs] = before.map((start, index) =>
    start === null || !requests ? NaN : ((after[index] - start) * 1e6) / requests,
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? 0);
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(output);
  const scale = { us: 0.001, ms: 1, s: 1000 };
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0) +
    [...output.matchAll(/(connect|read|write|timeout) (\d+)/g)].reduce((sum, match) => sum + Number(match[2]), 0);
  return { rps, p99: p99 ? Number(p99[1]) * scale[p99[2]] : NaN, errors, serverUs, redisUs };
}

if (args["probe-sweep"]) {
  await probeSweep(args["probe-sweep"]);
  process.exit(0);
}

/** Whether the SQL store's expired-session sweep stalls requests: one sql visitor reads and
 * writes its cart back to back until the server's log (at `logPath`, the sweep at debug) shows
 * a sweep, then compares the slowest request during the sweep with the rest. */
async function probeSweep(logPath) {
  const { cookies } = await session("sql");
  // The log as text (colours stripped, should a terminal's log be given).
  const log = () => readFileSync(logPath, "utf8").replace(/\x1b\[[0-9;]*m/g, "");
  const seen = () => /swept expired sessions.*store_name="sqlite".*elapsed_ms=([\d.]+)/.exec(log());
  const already = log().length;
  const timings = [];
  const started = performance.now();
  let sweep = null;
  for (let n = 0; !sweep && performance.now() - started < 180_000; n += 1) {
    const write = n % 2 === 1;
    const at = performance.now();
    const reply = write
      ? await call("PUT", "/api/v1/cart/items/3", { cookies, body: { quantity: ((n >> 1) % 2) + 1 } })
      : await call("GET", "/api/v1/session", { cookies });
    timings.push({ at, ms: performance.now() - at, write, ok: reply.status === 200 });
    if (n % 20 === 0) {
      const match = seen();
      if (match && match.index >= already) sweep = { end: performance.now(), ms: Number(match[1]) };
    }
  }
  if (!sweep) throw new Error("no sweep in the server log within 3 minutes");
  const during = (t) => t.at + t.ms >= sweep.end - sweep.ms - 50 && t.at <= sweep.end;
  const slowest = (list) => list.reduce((max, t) => Math.max(max, t.ms), 0).toFixed(1);
  const row = (name, list) =>
    `| ${name} | ${list.length} | ${slowest(list.filter((t) => !t.write))} | ` +
    `${slowest(list.filter((t) => t.write))} | ${list.filter((t) => !t.ok).length} |`;
  console.log(`\n==> the SQL sweep took ${sweep.ms.toFixed(0)} ms`);
  console.log("| requests | count | slowest read (ms) | slowest write (ms) | failed |");
  console.log("| --- | --- | --- | --- | --- |");
  console.log(row("during the sweep", timings.filter(during)));
  console.log(row("before and after", timings.filter((t) => !during(t))));
}

/** Each strategy's target: its read's share of the no-session route, in percent (the reasons
 * in docs/PERFORMANCE.md). Every p99, read and write, under P99_TARGET_MS. */
const TARGETS = {
  memory: 90, cookie: 90, jwt: 90, hybrid: 90,
  redis: 60, "cache-aside": 60, memcached: 60,
  sql: 50, "signed-url": 50,
};
const P99_TARGET_MS = 5;

const only = args.only?.split(",");
const strategies = (await call("GET", "/api/v1/strategies")).body
  .map((strategy) => strategy.id)
  .filter((id) => !only || only.includes(id));
// On a machine shared with other work a run's throughput moves by a third from one run to the
// next, all routes alike: every read is paired with a no-session run just before it, the share
// is taken within the pair, and the table shows the median of the rounds.
const rounds = Number(args.rounds ?? 5);
console.log(
  `==> wrk -t1 -c${connections} -d${seconds}s against ${base.origin}: ${rounds} rounds, ` +
    "each read right after a no-session run and each write right after its read",
);
const visitorsOf = new Map();
for (const strategy of strategies) {
  const visitors = [];
  for (let index = 0; index < connections; index += 1) visitors.push(await session(strategy));
  visitorsOf.set(strategy, visitors);
}
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const baselines = [];
const pairs = new Map(strategies.map((strategy) => [strategy, []]));
for (let round = 1; round <= rounds; round += 1) {
  for (const strategy of strategies) {
    const baseline = wrk("/api/v1/products");
    const read = wrk("/api/v1/session", visitorsOf.get(strategy));
    const write = wrk("/api/v1/cart/items/3", visitorsOf.get(strategy), { write: true });
    baselines.push(baseline);
    pairs.get(strategy).push({ read, write, share: read.rps / baseline.rps });
  }
  console.log(`    round ${round} of ${rounds} done`);
}

const ms = (value) => (Number.isFinite(value) ? value.toFixed(2) : "?");
const cpu = measured[0] !== null;
const cpuHeader = cpu ? " server CPU µs / read | Redis CPU µs / read | server CPU µs / write |" : "";
console.log(
  "\n| strategy | read rps | share of no-session | read p99 (ms) | write rps | write p99 (ms) | errors | target |" +
    cpuHeader,
);
console.log(`| --- | --- | --- | --- | --- | --- | --- | --- |${cpu ? " --- | --- | --- |" : ""}`);
const us = (value) => (Number.isFinite(value) ? value.toFixed(1) : "-");
// Medians over the rounds, as the shares.
const cpuCells = (reads, writes) =>
  cpu
    ? ` ${us(median(reads.map((r) => r.serverUs)))} | ${us(median(reads.map((r) => r.redisUs)))} | ` +
      `${writes ? us(median(writes.map((w) => w.serverUs))) : "-"} |`
    : "";
const errorsOf = (runs) => runs.reduce((sum, run) => sum + run.errors, 0);
console.log(
  `| no session (GET /api/v1/products, guest) | ${Math.round(median(baselines.map((b) => b.rps)))} | 100% | ` +
    `${ms(median(baselines.map((b) => b.p99)))} | - | - | ${errorsOf(baselines)} | - |` +
    cpuCells(baselines, null),
);
for (const strategy of strategies) {
  const runs = pairs.get(strategy);
  const reads = runs.map((run) => run.read);
  const writes = runs.map((run) => run.write);
  const shares = runs.map((run) => Math.round(run.share * 100));
  const writeP99s = writes.map((w) => ms(w.p99));
  const share = median(runs.map((run) => run.share)) * 100;
  const slowest = Math.max(median(reads.map((r) => r.p99)), median(writes.map((w) => w.p99)));
  const wanted = TARGETS[strategy];
  const missed = [
    wanted === undefined ? "no target set" : null,
    share < wanted ? `share under ${wanted}%` : null,
    !(slowest < P99_TARGET_MS) ? `p99 over ${P99_TARGET_MS} ms` : null,
  ].filter(Boolean);
  console.log(
    `| ${strategy} | ${Math.round(median(reads.map((r) => r.rps)))} | ` +
      `${Math.round(median(runs.map((run) => run.share)) * 100)}% (${shares.join(", ")}) | ` +
      `${ms(median(reads.map((r) => r.p99)))} | ${Math.round(median(writes.map((w) => w.rps)))} | ` +
      `${ms(median(writes.map((w) => w.p99)))} (${writeP99s.join(", ")}) | ` +
      `${errorsOf(reads) + errorsOf(writes)} | ${missed.length ? `missed: ${missed.join(", ")}` : `met (${wanted}%)`} |` +
      cpuCells(reads, writes),
  );
}

// A cart change's cost, as /compare measures it on one logged-in session with two cart lines.
const compared = (await call("GET", "/api/v1/compare", { cookies: (await session("memory")).cookies })).body;
console.log("\n| a cart change | bytes sent back | signatures computed |\n| --- | --- | --- |");
for (const row of compared.rows.filter((row) => strategies.includes(row.id))) {
  console.log(`| ${row.id} | ${row.change_bytes ?? "-"} | ${row.change_signatures ?? "-"} |`);
}
const cost = (id) => compared.rows.find((row) => row.id === id);
if (cost("hybrid") && cost("jwt")) {
  const [hybrid, jwt] = [cost("hybrid"), cost("jwt")];
  const less = hybrid.change_bytes < jwt.change_bytes && hybrid.change_signatures < jwt.change_signatures;
  console.log(
    `hybrid against jwt: ${hybrid.change_bytes} bytes and ${hybrid.change_signatures} signatures against ` +
      `${jwt.change_bytes} and ${jwt.change_signatures}: ${less ? "met" : "missed"}`,
  );
}
