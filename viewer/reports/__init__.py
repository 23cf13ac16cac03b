"""hubscape.viewer.reports: printable reports of results (matplotlib figures and tables)."""
