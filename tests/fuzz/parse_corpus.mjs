// Parse every bundle in a folder with the browser's parser (static/js/bundle.js, and the
// scene layout checks of static/js/layout.js for scene bundles); print one JSON line per file:
// {"file", "ok", "kind", "error", "unexpected"}. Used by tests/fuzz/test_fuzz.py.
//     node tests/fuzz/parse_corpus.mjs DIR
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseBundle, BundleError } from "../../static/js/bundle.js";
import { validateScene } from "../../static/js/layout.js";

const dir = process.argv[2];
const lines = [];
for (const file of readdirSync(dir).filter((f) => f.endsWith(".safetensors")).sort()) {
  const bytes = readFileSync(join(dir, file));
  const row = { file, ok: false, kind: null, error: null, unexpected: false };
  try {
    const b = parseBundle(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
    row.kind = b.kind;
    if (b.kind === "scene") validateScene(b, file);
    row.ok = true;
  } catch (e) {
    row.error = String(e && e.message);
    row.unexpected = !(e instanceof BundleError) || row.error.includes("\n");
  }
  lines.push(JSON.stringify(row));
}
process.stdout.write(lines.join("\n") + "\n");
