"""Last logins are noted in memory and written in batches: the latest wins, and the record never goes backwards."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from strongroom.auth.last_logins import LastLogins
from strongroom.spiffe.dev_spire import DiscoveryProvider
from tests.conftest import Api

T0 = datetime(2026, 11, 26, 12, 0, 0, tzinfo=timezone.utc)


class SetClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def timestamp(self) -> float:
        return self.moment.timestamp()


def _last_login(api: Api, identity_id: str) -> tuple[str | None, str | None]:
    membership = api.admin("GET", f"/api/v1/identities/{identity_id}").json()["identity"]
    return membership["lastLoginAuthMethod"], membership["lastLoginTime"]


def test_logins_are_written_at_the_flush_the_latest_of_each_identity(api: Api, provider: DiscoveryProvider) -> None:
    first, second = api.identity_with_oidc(provider), api.identity_with_oidc(provider)
    clock = SetClock(T0)
    last_logins = LastLogins(api.server.services.database, clock)
    last_logins.record(first, "oidc-auth")
    clock.moment = T0 + timedelta(seconds=5)
    last_logins.record(first, "jwt-auth")
    last_logins.record(second, "spiffe-auth")
    assert _last_login(api, first) == (None, None)  # nothing written before the flush

    assert last_logins.flush() == 2
    assert _last_login(api, first) == ("jwt-auth", "2026-11-26T12:00:05.000Z")
    assert _last_login(api, second) == ("spiffe-auth", "2026-11-26T12:00:05.000Z")
    assert last_logins.flush() == 0


def test_an_older_login_flushed_later_does_not_move_the_record_back(api: Api, provider: DiscoveryProvider) -> None:
    identity_id = api.identity_with_oidc(provider)
    # Two replicas: the one that saw the later login flushes first.
    later = LastLogins(api.server.services.database, SetClock(T0 + timedelta(minutes=1)))
    earlier = LastLogins(api.server.services.database, SetClock(T0))
    later.record(identity_id, "spiffe-auth")
    earlier.record(identity_id, "oidc-auth")
    later.flush()
    earlier.flush()
    assert _last_login(api, identity_id) == ("spiffe-auth", "2026-11-26T12:01:00.000Z")
