"""The version of the reasoning code (the knowledge base has its own version and hash)."""

ENGINE_VERSION = "0.2.0"
