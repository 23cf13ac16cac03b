"""The Scene: pure-numpy geometry and styling, shared by the desktop and browser renderers."""
