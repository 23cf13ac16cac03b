// Web Worker of the Pyodide kernel: boots Pyodide from the locally served npm copy, installs
// hubscape's pure-Python wheel, and, on request, numpy/scipy/lmfit from the package index.
// Requests are JSON documents handled by hubscape.viewer.server.requests, exactly as the
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
for name in ["hubscape.analytics.errors", "hubscape.analytics.atomic", "hubscape.analytics.bundle",
             "hubscape.viewer.server.requests"]:
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
      try {
        await pyodide.loadPackage(["numpy", "scipy", "safetensors", "micropip"]);
      } catch (err) {
        science = null;
        throw new Error(`numpy/scipy for Pyodide could not be loaded from ${indexURL} (offline? start hubscape serve ` +
                        `with --pyodide-index pointing at a local Pyodide package index): ${String(err.message || err).split("\n")[0]}`);
      }
      const micropip = pyodide.pyimport("micropip");
      await micropip.install(["lmfit"]);
      return describe();
    })();
  }
  return science;
}

async function fit(request) {
  await loadScience();
  pyodide.globals.set("request_json", JSON.stringify(request));
  return JSON.parse(pyodide.runPython(`
import json
from hubscape.viewer.server.requests import fit_growth_request
json.dumps(fit_growth_request(json.loads(request_json)), allow_nan=False)
`));
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
    const msg = String(err && err.message ? err.message : err);
    // A Python traceback's last line is the one-line reason.
    const lines = msg.trim().split("\n");
    self.postMessage({ id, ok: false, error: lines[lines.length - 1] });
  }
};
