"""The seam for a later "fault mode" of the replica (not implemented yet).

`ReplicaSite.respond` hands every request to its `faults` object twice: once
before routing (`before` may answer instead of the site, e.g. a deterministic
500 or a 503 with Retry-After) and once after (`after` may rewrite the answer,
e.g. a wrong charset or a redirect). Faults that need the transport (slow or
truncated bodies) will need `ReplicaServer` to honour extra response fields;
that is left for when fault mode is built. The default, `NoFaults`, changes
nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple, Protocol


class Request(NamedTuple):
    """A request as the site sees it: method upper-case, header names lower-case."""

    method: str
    target: str  # path and query, as sent on the request line
    headers: Mapping[str, str]


class Response(NamedTuple):
    """What the site answers; it unpacks as `(status, headers, body)`.

    `body` is empty for HEAD and 304, while `Content-Length` in `headers` still
    states the length a GET would get, as HTTP requires for HEAD.
    """

    status: int
    headers: dict[str, str]
    body: bytes


class Faults(Protocol):
    """Hooks consulted by `ReplicaSite.respond` for every request."""

    def before(self, request: Request) -> Response | None:
        """An answer that replaces the site's, or None to let the site answer."""
        ...

    def after(self, request: Request, response: Response) -> Response:
        """The answer to send, given what the site produced."""
        ...


class NoFaults:
    """The default: the site answers every request faithfully."""

    def before(self, request: Request) -> Response | None:
        return None

    def after(self, request: Request, response: Response) -> Response:
        return response
