"""Clustering: passage vectors to candidate codes, and codes to candidate themes."""
