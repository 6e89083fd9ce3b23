"""Readers and writers of session files: JSON, RTTM, CSV, Parquet and the values an export carries."""
