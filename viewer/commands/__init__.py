"""One module per command group; each defines WORLD and register(subparsers)."""
