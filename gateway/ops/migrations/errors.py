"""The error of `omnify-gateway migrate`: a problem an operator must fix before the stores can be migrated."""


class MigrationError(RuntimeError):
    pass
