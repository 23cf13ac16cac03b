"""Loss landscapes: directions in weight space and loss grids along them (needs torch)."""
