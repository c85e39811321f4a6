"""Reproducible demo warehouse data (schema ``demo``) generated entirely in PostgreSQL."""

from audience_pipelines.demo.data import DemoDataSpec, DemoDataSummary, load_demo_data, today_utc

__all__ = ["DemoDataSpec", "DemoDataSummary", "load_demo_data", "today_utc"]
