"""hubscape.analytics: the computations behind hubscape (growth fits, loss landscapes,
activation maps). Pure numpy/scipy/lmfit; never imports hubscape.viewer, so it also runs
in Pyodide. Torch is imported lazily, only by the landscape and activation modules."""
