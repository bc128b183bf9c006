"""Errors whose message is meant for the user: the app shows them as they are, never a traceback."""


class BertLensError(ValueError):
    """Bad input or an unusable model; the message says what to do instead."""


class ModelLoadError(BertLensError):
    """A checkpoint could not be loaded."""


class InputError(BertLensError):
    """The text, CSV or option given cannot be analysed as it is."""


class Cancelled(BertLensError):
    """A long computation stopped because the user cancelled it (its `threading.Event` was set).

    `done` and `total` count the work units (rows) finished and planned when it stopped.
    """

    def __init__(self, message: str, done: int = 0, total: int = 0):
        super().__init__(message)
        self.done = done
        self.total = total
