"""Getting a JWT-SVID from the SPIFFE Workload API (SPIRE Agent, or ``strongroom dev spire``), with py-spiffe.

The socket comes from the caller or from ``SPIFFE_ENDPOINT_SOCKET``; as well
as the spec's ``unix:///path``, a bare absolute path is accepted (the form
``spire-agent api fetch -socketPath`` takes). py-spiffe speaks only unix
sockets. Failures become two exceptions with one-line messages:
``WorkloadApiUnavailable`` when trying again later may help (no socket yet,
agent not answering), ``WorkloadApiRefused`` when it will not (no socket
configured, the agent refused the request).
"""

from __future__ import annotations

import os

SOCKET_VARIABLE = "SPIFFE_ENDPOINT_SOCKET"
DEFAULT_TIMEOUT_SECONDS = 5.0


class WorkloadApiError(Exception):
    """The Workload API could not give us a JWT-SVID; the message is one line for a person."""


class WorkloadApiUnavailable(WorkloadApiError):
    """The Workload API is not there or not answering: worth retrying with backoff."""


class WorkloadApiRefused(WorkloadApiError):
    """A request the Workload API will never grant, or a local misconfiguration: retrying will not help."""


def endpoint_address(socket: str | None = None) -> str:
    """The Workload API address as py-spiffe takes it (``unix:///abs/path``)."""
    value = (socket or os.environ.get(SOCKET_VARIABLE, "")).strip()
    if not value:
        raise WorkloadApiRefused(
            f"no SPIFFE Workload API socket: pass --spiffe-socket or set {SOCKET_VARIABLE} "
            "(or give the JWT-SVID with --jwt or --jwt-file)"
        )
    if value.startswith("/"):
        return f"unix://{value}"
    if value.startswith("unix:"):
        path = value[len("unix:"):]
        if path.startswith("//"):
            path = path[2:]
        if not path.startswith("/"):
            raise WorkloadApiRefused(f"the Workload API socket {value!r} must be an absolute path (unix:///path)")
        return f"unix://{path}"
    if value.startswith("tcp:"):
        raise WorkloadApiRefused(f"the Workload API socket {value!r} is TCP; only unix sockets are supported")
    raise WorkloadApiRefused(f"the Workload API socket {value!r} is neither unix:///path nor an absolute path")


def socket_path(address: str) -> str:
    return address[len("unix://"):]


def fetch_jwt_svid(audience: str | list[str], *, socket: str | None = None,
                   timeout: float = DEFAULT_TIMEOUT_SECONDS) -> str:
    """A JWT-SVID for ``audience`` (the workload's default SPIFFE ID), as its compact string."""
    audiences = {audience} if isinstance(audience, str) else set(audience)
    if not audiences or any(not entry.strip() for entry in audiences):
        raise WorkloadApiRefused("the audience must not be empty")
    address = endpoint_address(socket)
    path = socket_path(address)
    if not os.path.exists(path):
        raise WorkloadApiUnavailable(
            f"the SPIFFE Workload API socket {path} does not exist (is SPIRE Agent or `strongroom dev spire` running?)"
        )
    import grpc  # imported here: only the commands that talk to the Workload API pay for it
    from spiffe import WorkloadApiClient
    from spiffe.errors import PySpiffeError

    try:
        client = WorkloadApiClient(socket_path=address, default_timeout=timeout)
    except PySpiffeError as exc:
        raise WorkloadApiRefused(f"cannot use the Workload API at {address}: {exc}") from None
    try:
        return client.fetch_jwt_svid(audience=audiences).token
    except PySpiffeError as exc:
        cause = exc.__cause__
        if isinstance(cause, grpc.Call):
            code, details = cause.code(), cause.details() or ""
            message = f"the Workload API at {address} answered {code.name}: {details}".rstrip(": ")
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                        grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED):
                raise WorkloadApiUnavailable(message) from None
            raise WorkloadApiRefused(message) from None
        raise WorkloadApiRefused(f"the Workload API at {address} gave no usable JWT-SVID: {exc}") from None
    finally:
        client.close()
