"""Figure export: PNG, SVG/PDF (raster view with vector axes) and glTF."""
