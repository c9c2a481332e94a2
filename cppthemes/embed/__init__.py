"""Embedding: passages to vectors, the models and runtimes that make them, and their caches."""
