"""Why a URL was not fetched: one stable code each (shown on the request or on the job)."""

from __future__ import annotations

from typing import ClassVar

from tynebase.errors import ValidationFailed


class UrlRefused(ValidationFailed):
    """A URL that cannot or must not be fetched, or whose answer was refused."""

    code: ClassVar[str] = "URL_INVALID"


class UrlInvalid(UrlRefused):
    code = "URL_INVALID"


class UrlBadScheme(UrlRefused):
    code = "URL_BAD_SCHEME"


class UrlForbiddenAddress(UrlRefused):
    code = "URL_FORBIDDEN_ADDRESS"


class UrlUnresolvable(UrlRefused):
    code = "URL_UNRESOLVABLE"


class UrlUnreachable(UrlRefused):
    code = "URL_UNREACHABLE"


class UrlTimeout(UrlRefused):
    code = "URL_TIMEOUT"


class UrlTooLarge(UrlRefused):
    status = 413
    code = "URL_TOO_LARGE"


class UrlUnsupportedContent(UrlRefused):
    status = 415
    code = "URL_UNSUPPORTED_CONTENT"


class UrlHttpError(UrlRefused):
    code = "URL_HTTP_ERROR"


class UrlTooManyRedirects(UrlRefused):
    code = "URL_TOO_MANY_REDIRECTS"


class UrlBadResponse(UrlRefused):
    code = "URL_BAD_RESPONSE"
