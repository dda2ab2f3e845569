"""Settings package: `base` holds everything, switched by the environment; `test` only overrides."""
