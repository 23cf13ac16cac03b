"""hubscape.viewer.sources: what the viewer can show.

SOURCE strings of ``hubscape view`` / ``export`` resolved to worlds (:mod:`.worlds`), the
built-in demos (:mod:`.demos`), growth sources fitted on the fly (:mod:`.fitting`) and the
JSON requests both page kernels answer (:mod:`.page_requests`). This ``__init__`` imports
nothing, so the Pyodide kernel can import ``page_requests`` before numpy is loaded.
"""
