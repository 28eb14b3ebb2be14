"""The one error type the schema command shows to its user."""


class SchemaError(Exception):
    """A problem with the input (target, lock file, server reply): printed as one line, exit 2.

    Messages never carry header values or anything else the user passed as a secret.
    """
