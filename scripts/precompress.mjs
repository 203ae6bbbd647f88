// Writes brotli (.br) and gzip (.gz) copies of the site's text and WebAssembly files, once, at
// build time, so the server sends the compressed bytes to clients that accept them without
// compressing anything per request. Usage: node scripts/precompress.mjs [site-root]
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const root = process.argv[2] ?? "target/site";
const compressible = /\.(js|mjs|wasm|css|svg|html|json|txt)$/;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (compressible.test(name)) yield path;
  }
}

let raw = 0;
let brotli = 0;
for (const path of files(root)) {
  const bytes = readFileSync(path);
  const br = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  const gz = gzipSync(bytes, { level: 9 });
  // Only where it saves bytes: the server sends the raw file otherwise.
  if (br.length < bytes.length) writeFileSync(`${path}.br`, br);
  if (gz.length < bytes.length) writeFileSync(`${path}.gz`, gz);
  raw += bytes.length;
  brotli += Math.min(br.length, bytes.length);
  if (path.endsWith(".wasm")) {
    console.log(`${path}: ${bytes.length} B raw, ${br.length} B brotli, ${gz.length} B gzip`);
  }
}
console.log(`precompressed ${root}: ${raw} B raw, ${brotli} B with brotli`);
