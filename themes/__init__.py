"""The themes shipped with ibmon: package data (`ibmon_themes`), read through importlib.resources."""
