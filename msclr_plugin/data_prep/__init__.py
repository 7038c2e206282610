"""Converters from raw datasets to skeleton stores (used by tools/data)."""
