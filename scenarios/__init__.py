"""The bundled scenario catalog, shipped as package data (read through `tiersync.catalog`)."""
