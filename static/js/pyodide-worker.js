// Web Worker of the Pyodide kernel: boots Pyodide from the locally served npm copy, installs
// hubscape's pure-Python wheel, and, on request, numpy/scipy/lmfit from the package index.
// Requests are JSON documents handled by hubscape.viewer.sources.page_requests, exactly as the
// server kernel handles them in CPython; nothing else is ever run.

let pyodide = null, science = null, indexURL = "";

async function boot(config) {
  if (pyodide) return describe();
  const { loadPyodide } = await import(config.pyodideURL + "pyodide.mjs");
  indexURL = config.indexURL;
  pyodide = await loadPyodide({ indexURL: config.pyodideURL, packageBaseUrl: config.indexURL });
  await pyodide.loadPackage(config.wheelURL, { checkIntegrity: false });
  return describe();
}

function describe() {
  const report = pyodide.runPython(`
import importlib, json, sys
mods = {}
for name in ["hubscape", "hubscape.core.errors", "hubscape.core.atomic", "hubscape.core.bundle",
             "hubscape.viewer.sources.page_requests"]:
    try:
        importlib.import_module(name)
        mods[name] = "ok"
    except Exception as exc:
        mods[name] = f"{type(exc).__name__}: {exc}"
json.dumps({"python": sys.version.split()[0], "modules": mods})
`);
  return JSON.parse(report);
}

async function loadScience() {
  if (!science) {
    science = (async () => {
      const importable = (name) => pyodide.runPython(`import importlib.util as u; u.find_spec("${name}") is not None`);
      const failed = [];
      // loadPackage reports fetch failures through its error callback instead of rejecting.
      await pyodide.loadPackage(["numpy", "scipy", "safetensors", "micropip"], { errorCallback: (m) => failed.push(m) })
        .catch((err) => failed.push(String(err.message || err)));
      if (failed.length || !importable("numpy") || !importable("scipy")) {
        throw new Error(`numpy/scipy for Pyodide could not be loaded from ${indexURL} (offline? start hubscape serve ` +
                        `with --pyodide-index pointing at a local Pyodide package index): ${clip(failed.join(" ") || "not importable", 240)}`);
      }
      try {
        await pyodide.pyimport("micropip").install(["lmfit"]);
      } catch (err) {
        throw new Error(`lmfit could not be installed from PyPI through micropip (offline?): ${oneLine(err.message || err)}`);
      }
      return describe();
    })();
    science.catch(() => { science = null; });   // a later call may try again (e.g. back online)
  }
  return science;
}

async function fit(request) {
  await loadScience();
  pyodide.globals.set("request_json", JSON.stringify(request));
  return JSON.parse(pyodide.runPython(`
import json
from hubscape.viewer.sources.page_requests import fit_growth_request
json.dumps(fit_growth_request(json.loads(request_json)), allow_nan=False)
`));
}

/** `text` on one line, at most about `n` characters, cut at a word boundary (never mid-word). */
function clip(text, n) {
  const one = String(text).replace(/\s+/g, " ").trim();
  if (one.length <= n) return one;
  const cut = one.lastIndexOf(" ", n);
  return one.slice(0, cut > n / 2 ? cut : n) + " …";
}

/** The line of an error message that says what went wrong (a Python traceback's exception line). */
function oneLine(message) {
  const lines = String(message).trim().split("\n").map((l) => l.trim()).filter(Boolean);
  const exc = lines.filter((l) => /^[A-Za-z_.]*(Error|Exception)\b/.test(l));
  return exc.length ? exc[exc.length - 1] : (lines[0] || "unknown error");
}

self.onmessage = async (e) => {
  const { id, cmd, args } = e.data;
  try {
    let result;
    if (cmd === "boot") result = await boot(args.config);
    else if (cmd === "science") { await boot(args.config); result = await loadScience(); }
    else if (cmd === "fit") { await boot(args.config); result = await fit(args.request); }
    else throw new Error(`unknown kernel call ${cmd}`);
    self.postMessage({ id, ok: true, result });
  } catch (err) {
    self.postMessage({ id, ok: false, error: oneLine(err && err.message ? err.message : err) });
  }
};
