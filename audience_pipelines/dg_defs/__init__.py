"""The dg project's defs folder: one component instance per ``defs.yaml`` (see ``dg.toml``)."""
