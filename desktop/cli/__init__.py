"""The `motcua` command: branch IT, scripting and acceptance checks drive the core here."""
