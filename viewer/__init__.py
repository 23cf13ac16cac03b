"""hubscape.viewer: scenes built from analytics results, the desktop renderer, figure export,
the local server and the command line. May import hubscape.analytics; never the reverse."""
