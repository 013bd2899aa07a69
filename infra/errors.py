"""The one error the platform raises: its message says what to do."""


class PlatformError(RuntimeError):
    """A part of the local platform could not be fetched, started or reached."""
