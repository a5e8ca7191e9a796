"""OAI-PMH errors: one class per error code of the protocol, answered with HTTP 200."""

from __future__ import annotations


class OAIError(Exception):
    """An OAI-PMH error condition; ``code`` is the protocol's error code."""

    code = ""
    # badVerb and badArgument responses must not echo the request's arguments (spec 3.2).
    echo_arguments = True

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadVerb(OAIError):
    code = "badVerb"
    echo_arguments = False


class BadArgument(OAIError):
    code = "badArgument"
    echo_arguments = False


class BadResumptionToken(OAIError):
    code = "badResumptionToken"


class CannotDisseminateFormat(OAIError):
    code = "cannotDisseminateFormat"


class IdDoesNotExist(OAIError):
    code = "idDoesNotExist"


class NoRecordsMatch(OAIError):
    code = "noRecordsMatch"


class NoMetadataFormats(OAIError):
    code = "noMetadataFormats"


class NoSetHierarchy(OAIError):
    code = "noSetHierarchy"
