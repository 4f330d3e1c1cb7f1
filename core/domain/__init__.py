"""The domain: pure types and rules, no I/O, importing nothing else from core."""
