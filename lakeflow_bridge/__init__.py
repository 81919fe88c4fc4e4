"""Replays tap-zoho-crm Singer messages into the Databricks LakeflowConnect interface and PySpark."""
