"""Builds the ASGI app: settings → store → services → routers."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import redis
from fastapi import FastAPI

from strongroom import __version__
from strongroom.auth.keys.cache import JwksCache
from strongroom.auth.jwt_auth.login import JwtLogin
from strongroom.auth.last_logins import LastLogins
from strongroom.auth.oidc.login import OidcLogin
from strongroom.auth.spiffe_auth.login import SpiffeLogin
from strongroom.auth.verify.signature import VerifiedJwts
from strongroom.auth.throttle import LoginThrottle, build_login_throttle
from strongroom.auth.token_usage import TokenUsage
from strongroom.auth.tokens import AccessTokens
from strongroom.background import flush_periodically
from strongroom.clock import Clock, SystemClock
from strongroom.crypto.root_key import RootKey, load_or_create_root_key
from strongroom.crypto.sealing import SecretSealer
from strongroom.outbound import HttpFetcher
from strongroom.secrets.rendered import RenderedReads
from strongroom.settings import Settings
from strongroom.store import migrate
from strongroom.store.cleanup import TokenCleanup
from strongroom.store.db import Database, open_database
from strongroom.store.redis_client import open_redis
from strongroom.store.root_key_check import verify_root_key
from strongroom.web.errors import ContainUnexpectedErrors, install_error_handlers
from strongroom.web.normalise import NormaliseRequest
from strongroom.web.responses import JsonResponse

# Token uses and last logins are written this often (they may lag; nothing decides on them).
BOOKKEEPING_FLUSH_SECONDS = 1.0


@dataclass
class Services:
    """The parts of one running Strongroom, shared by every request."""

    settings: Settings
    database: Database
    root_key: RootKey
    clock: Clock
    fetcher: HttpFetcher
    jwks: JwksCache
    tokens: AccessTokens
    last_logins: LastLogins
    oidc_login: OidcLogin
    jwt_login: JwtLogin
    spiffe_login: SpiffeLogin
    sealer: SecretSealer
    login_throttle: LoginThrottle
    token_cleanup: TokenCleanup
    rendered_reads: RenderedReads
    redis: redis.Redis | None = None  # STRONGROOM_REDIS_URL, shared by the replicas

    def flush_bookkeeping(self) -> None:
        """Write the token uses and last logins counted in memory (on shutdown, and in tests)."""
        self.tokens.usage.flush()
        self.last_logins.flush()

    def close(self) -> None:
        self.flush_bookkeeping()
        self.token_cleanup.stop()
        self.fetcher.close()
        if self.redis is not None:
            self.redis.close()
        self.database.dispose()


def build_services(settings: Settings, clock: Clock | None = None, *, run_migrations: bool = True) -> Services:
    clock = clock or SystemClock()
    database = open_database(settings.database_url, settings.database_pool_size)
    if run_migrations:
        if database.is_sqlite:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrate.upgrade(database.engine)
    root_key = load_or_create_root_key(settings.root_key_b64, settings.data_dir)
    try:
        verify_root_key(database, root_key)  # every replica must have been given the same root key
    except Exception:
        database.dispose()
        raise
    shared_redis = open_redis(settings.redis_url) if settings.redis_url else None
    fetcher = HttpFetcher(
        settings.http_fetch_timeout_seconds, settings.http_fetch_max_bytes,
        allow_internal=settings.allow_internal_issuers,
    )
    jwks = JwksCache(
        fetcher,
        ttl_seconds=settings.jwks_cache_ttl_seconds,
        cooldown_seconds=settings.jwks_refresh_cooldown_seconds,
        max_staleness_seconds=settings.jwks_max_staleness_seconds,
    )
    tokens = AccessTokens(root_key.derive("access-token-signing"), clock, TokenUsage(database))
    last_logins = LastLogins(database, clock)
    verified = VerifiedJwts()
    return Services(
        settings=settings,
        database=database,
        root_key=root_key,
        clock=clock,
        fetcher=fetcher,
        jwks=jwks,
        tokens=tokens,
        sealer=SecretSealer(root_key.derive("secret-sealing")),
        last_logins=last_logins,
        oidc_login=OidcLogin(
            keys=jwks, verified=verified, tokens=tokens, last_logins=last_logins, clock=clock,
            leeway_seconds=settings.jwt_leeway_seconds,
            check_discovery_issuer=settings.check_discovery_issuer,
        ),
        jwt_login=JwtLogin(keys=jwks, verified=verified, tokens=tokens, last_logins=last_logins, clock=clock,
                           leeway_seconds=settings.jwt_leeway_seconds),
        spiffe_login=SpiffeLogin(keys=jwks, verified=verified, tokens=tokens, last_logins=last_logins, clock=clock,
                                 leeway_seconds=settings.jwt_leeway_seconds),
        login_throttle=build_login_throttle(
            shared_redis,
            window_seconds=settings.login_failure_window_seconds,
            max_failures_per_identity=settings.login_max_failures_per_identity,
            max_failures_per_ip=settings.login_max_failures_per_ip,
        ),
        token_cleanup=TokenCleanup(
            database, clock,
            interval_seconds=settings.token_cleanup_interval_seconds,
            retention_seconds=settings.token_retention_seconds,
        ),
        rendered_reads=RenderedReads(int(settings.read_cache_mb * 1024 * 1024)),
        redis=shared_redis,
    )


def _fastapi_telemetry(enabled: bool) -> dict[str, bool]:
    return {"tracing": enabled, "metrics": enabled, "logs": enabled}


def create_app(services: Services) -> FastAPI:
    from strongroom.api import routers
    from strongroom.api.routing import add_routes

    logging.getLogger("strongroom").setLevel(services.settings.log_level.upper())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Per serving process (each `--workers` process runs this): the cleanup thread, and the
        # bookkeeping flushed on the event loop (token uses and last logins may lag by a second).
        services.token_cleanup.start()
        flushing = asyncio.create_task(
            flush_periodically(BOOKKEEPING_FLUSH_SECONDS, services.tokens.usage, services.last_logins)
        )
        try:
            yield
        finally:
            flushing.cancel()
            with suppress(asyncio.CancelledError):
                await flushing
            # The grouped token writes first: a login they finish notes its last login, which the flush writes.
            await services.database.close_async()
            services.flush_bookkeeping()
            services.token_cleanup.stop()

    app = FastAPI(
        title="Strongroom",
        version=__version__,
        default_response_class=JsonResponse,
        redirect_slashes=False,
        lifespan=lifespan,
        telemetry=_fastapi_telemetry(services.settings.opentelemetry),
    )
    app.state.services = services
    install_error_handlers(app)
    add_routes(app, routers)
    app.add_middleware(ContainUnexpectedErrors)
    app.add_middleware(NormaliseRequest)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory --no-proxy-headers strongroom.app:app_from_env`` and for worker processes.

    Without ``--no-proxy-headers`` uvicorn believes ``X-Forwarded-For`` from 127.0.0.1 and rewrites the
    client address before ``strongroom.web.client_ip`` sees it; ``strongroom server`` turns that off.
    """
    app = create_app(build_services(Settings.from_env()))
    # What exists now (modules, the app, SQLAlchemy's mappers: ~160,000 objects) lives as long as the
    # serving process. Out of the collector's sight, a full collection no longer walks all of it again,
    # which took tens of milliseconds here and landed on whichever request was running. Garbage of the
    # start-up is collected first, or it would be kept for good.
    gc.collect()
    gc.freeze()
    return app
