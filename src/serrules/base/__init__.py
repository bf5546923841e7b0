"""The base every stage builds on: class facts, table contracts, errors, configuration and the
protocol presets. Imports nothing else of the package."""
