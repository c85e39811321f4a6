"""Reproducible demo warehouse data (schema ``demo``) generated entirely in PostgreSQL."""

from audience_pipelines.demo.data import DEMO_END_DATE, DemoDataSpec, DemoDataSummary, load_demo_data

__all__ = ["DEMO_END_DATE", "DemoDataSpec", "DemoDataSummary", "load_demo_data"]
