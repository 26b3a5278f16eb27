"""Trace exports (OpenTelemetry GenAI, Arize Phoenix/OpenInference, LangSmith, W&B Weave) turned
into govkit events: one row per agent task, as DESIGN.md's events contract describes."""
