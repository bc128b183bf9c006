"""Errors whose message is meant for the user: the app shows them as they are, never a traceback."""


class BertLensError(ValueError):
    """Bad input or an unusable model; the message says what to do instead."""


class ModelLoadError(BertLensError):
    """A checkpoint could not be loaded."""


class InputError(BertLensError):
    """The text, CSV or option given cannot be analysed as it is."""
