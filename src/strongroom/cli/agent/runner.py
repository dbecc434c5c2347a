"""The agent's loop: one thread that keeps the access token fresh and each template's file up to date.

- The token is renewed when two thirds of its lifetime have passed, as long
  as its max TTL lets a renewal extend it; after that, a fresh JWT-SVID from
  the Workload API buys a new login (``credentials.TokenKeeper``).
- Each template's folder is read every ``poll-interval`` with the last
  ``ETag`` in ``If-None-Match``: an unchanged folder costs a 304 and no
  rendering. A changed one is rendered, and the file is replaced atomically
  only if its content differs. A file removed or edited behind the agent's
  back is noticed at the next poll and written again.
- Every failure (server away, Workload API away, login refused) is logged
  and retried after a backoff that doubles from ``initial-backoff`` up to
  ``max-backoff``; a success resets it. Nothing a server does stops the agent.
- ``stop`` (SIGTERM or SIGINT in ``strongroom agent``) ends the loop
  between two steps; no file is ever left half-written.
"""

from __future__ import annotations

import hashlib
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from strongroom.cli.agent.config import AgentConfig, TemplateConfig
from strongroom.cli.agent.files import digest_of_file, write_atomically
from strongroom.cli.api_client import StrongroomClient
from strongroom.cli.credentials import JwtFile, SvidSource, TokenKeeper, WorkloadApiSvid, WorkloadLogin
from strongroom.cli.failures import CliError, one_line
from strongroom.spiffe.workload_client import WorkloadApiError


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} strongroom agent: {one_line(message)}", file=sys.stderr, flush=True)


@dataclass
class _Backoff:
    initial: float
    maximum: float
    failures: int = 0

    def next_wait(self) -> float:
        self.failures += 1
        wait = min(self.maximum, self.initial * 2 ** (self.failures - 1))
        # Jitter, so many agents that lost the same server do not come back in step.
        return wait * random.uniform(0.8, 1.0)

    def reset(self) -> None:
        self.failures = 0


@dataclass
class _TemplateState:
    config: TemplateConfig
    backoff: _Backoff
    due: float = 0.0
    etag: str | None = None
    written_digest: str | None = None
    renders: int = 0


@dataclass
class _TokenState:
    backoff: _Backoff
    due: float = 0.0  # 0: log in at once
    ready: bool = False
    failures_logged: int = field(default=0)


class Agent:
    def __init__(self, config: AgentConfig, *, client: StrongroomClient | None = None,
                 clock: Callable[[], float] = time.monotonic, logger: Callable[[str], None] = log) -> None:
        self.config = config
        self.client = client or StrongroomClient(config.api_url)
        svids: SvidSource = (JwtFile(config.auth.jwt_file) if config.auth.jwt_file is not None
                             else WorkloadApiSvid(config.auth.spiffe_socket, config.auth.audience))
        self.keeper = TokenKeeper(self.client, login=WorkloadLogin(config.auth.method, config.auth.identity_id, svids),
                                  clock=clock)
        self.clock = clock
        self.log = logger
        self.stop_requested = threading.Event()
        self._token = _TokenState(_Backoff(config.initial_backoff, config.max_backoff))
        self._templates = [_TemplateState(template, _Backoff(config.initial_backoff, config.max_backoff))
                           for template in config.templates]

    # -- the loop ---------------------------------------------------------------------

    def stop(self) -> None:
        self.stop_requested.set()

    def run(self, *, once: bool = False) -> int:
        """Run until ``stop()``; with ``once``, render every template once and return 0 if all succeeded."""
        self.log(f"started: {len(self._templates)} template(s), Strongroom at {self.config.api_url}")
        try:
            while not self.stop_requested.is_set():
                self.step()
                if once:
                    failed = self._token.backoff.failures or any(s.backoff.failures for s in self._templates)
                    return 1 if failed else 0
                self.stop_requested.wait(max(0.0, self.next_due() - self.clock()))
            return 0
        finally:
            self.client.close()
            self.log("stopped")

    def step(self) -> None:
        """Do whatever is due now."""
        if self.clock() >= self._token.due:
            self._refresh_token()
        if not self._token.ready:
            return
        for state in self._templates:
            if self.stop_requested.is_set():
                return
            if self.clock() >= state.due:
                self._sync(state)

    def next_due(self) -> float:
        dues = [self._token.due]
        if self._token.ready:
            dues += [state.due for state in self._templates]
        return min(dues)

    # -- the token --------------------------------------------------------------------

    def _refresh_token(self) -> None:
        state = self._token
        try:
            if state.ready:
                outcome = self.keeper.refresh()
            else:
                self.keeper.log_in()
                outcome = "logged in"
        except (CliError, WorkloadApiError) as exc:
            wait = state.backoff.next_wait()
            self.log(f"cannot get an access token: {exc}; retrying in {wait:.1f}s")
            state.due = self.clock() + wait
            return
        state.ready = True
        state.backoff.reset()
        self._token_changed()
        self.log(f"access token {outcome}" + (f"; next refresh in {state.due - self.clock():.0f}s"
                                              if state.due != float("inf") else " (it does not expire)"))

    def _token_changed(self) -> None:
        due = self.keeper.refresh_due_at()
        self._token.due = due if due is not None else float("inf")
        if self.config.auth.token_file is not None:
            try:
                write_atomically(self.config.auth.token_file, self.keeper.token().encode() + b"\n", mode=0o600)
            except OSError as exc:
                self.log(f"cannot write the token file {self.config.auth.token_file}: {exc}")

    # -- templates --------------------------------------------------------------------

    def _sync(self, state: _TemplateState) -> None:
        config = state.config
        if state.written_digest is not None and digest_of_file(config.destination) != state.written_digest:
            state.etag = None  # the file was changed or removed behind our back: render it again
        logins_before = self.keeper.logins
        try:
            listing = self.keeper.call(
                lambda token: self.client.list_secrets(token, config.where, etag=state.etag)
            )
            if listing is not None:
                values = listing.merged()
                try:
                    text = config.template.substitute(values)
                except KeyError as exc:
                    raise CliError(f"{config.origin} refers to ${{{exc.args[0]}}}, which is not a secret in "
                                   f"{config.where.environment} {config.where.path}") from None
                data = text.encode()
                digest = hashlib.sha256(data).hexdigest()
                if digest != digest_of_file(config.destination):
                    write_atomically(config.destination, data, mode=config.mode)
                    self.log(f"rendered {config.destination} ({len(values)} secrets)")
                state.written_digest = digest
                state.etag = listing.etag
                state.renders += 1
        except (CliError, WorkloadApiError, OSError) as exc:
            wait = state.backoff.next_wait()
            self.log(f"cannot update {config.destination}: {exc}; retrying in {wait:.1f}s")
            state.due = self.clock() + wait
            return
        finally:
            if self.keeper.logins != logins_before:
                # The token was refused (expired while the server was away, revoked) and replaced by a login.
                self._token_changed()
                self.log("the access token was refused; logged in again")
        state.backoff.reset()
        state.due = self.clock() + config.poll_interval
