"""hubscape.core: what every layer of hubscape shares and nothing else.

The user-facing errors (:mod:`.errors`), atomic file writes (:mod:`.atomic`), the bundle codec
(:mod:`.bundle`) and the environment variables (:mod:`.env`). It imports nothing of hubscape's
own, so analytics, the viewer, the server and the Pyodide kernel can all depend on it.
"""
