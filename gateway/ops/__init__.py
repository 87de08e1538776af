"""Operator tools, never imported at run time: the command line, migrations, demo data, embedded stores, the dev issuer."""
