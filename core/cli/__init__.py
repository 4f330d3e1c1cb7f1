"""What the `motcua` and `motcua-server` commands share: a parser that speaks the user's
language and takes its global options anywhere, tables for people and JSON for scripts,
and one line (never a traceback) for whatever goes wrong."""
