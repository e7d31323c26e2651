"""What a browser may do with a kotae server, whatever page it is showing.

* Writes come only from the chat page's own origin, or from an origin KOTAE_CORS_ORIGINS
  allows: a request that changes state (any method but GET/HEAD/OPTIONS) and carries an
  `Origin` of another host, or `Sec-Fetch-Site: cross-site/same-site`, is refused with 403.
  A cross-site page can send a multipart POST without a CORS preflight (`mode: "no-cors"`),
  but the browser always labels it so; curl, scripts and server-side clients (Open WebUI's
  backend, the openai package) send neither header and are unaffected.
* DNS rebinding: a request whose Host is not served (KOTAE_ALLOWED_HOSTS; by default the
  loopback names when the server listens on loopback) is refused with 400, so a page that
  rebinds its own name to 127.0.0.1 cannot read the API either.
* The page: a Content-Security-Policy (scripts, styles and connections from this origin only,
  no framing), and on every response X-Content-Type-Options and X-Frame-Options.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from kotae.service.api.errors import error_response
from kotae.settings import Settings

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# Swagger UI (/docs) and ReDoc load their scripts from a CDN and run an inline one.
NO_CSP_PATHS = ("/docs", "/redoc")
ALWAYS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")]


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(settings: Settings) -> frozenset[str] | None:
    """The Host names served, lower case without port; None = any."""
    names = {h.strip().lower().strip("[]") for h in settings.allowed_hosts.split(",") if h.strip()}
    if names:
        return None if "*" in names else frozenset(names)
    return LOOPBACK_NAMES if is_loopback(settings.host) else None


def startup_warnings(settings: Settings) -> list[str]:
    warnings = []
    if not settings.api_key and not is_loopback(settings.host):
        warnings.append(f"listening on {settings.host} without KOTAE_API_KEY: anyone who can reach this port can read, "
                        "upload and delete documents; set KOTAE_API_KEY (and KOTAE_ALLOWED_HOSTS)")
    return warnings


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class BrowserGuard:
    def __init__(self, app, settings: Settings):
        self.app = app
        self.hosts = allowed_hosts(settings)
        self.origins = frozenset(o.strip().rstrip("/").lower() for o in settings.cors_origins.split(",") if o.strip())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        host = headers.get(b"host", "")
        refusal = None
        if self.hosts is not None and _host_name(host) not in self.hosts:
            refusal = error_response(400, f"Host: {host[:100]!r} is not served here; allow it with KOTAE_ALLOWED_HOSTS",
                                     "Host", "host_not_allowed")
        elif scope["method"] not in SAFE_METHODS and self._cross_site(headers, host):
            refusal = error_response(403, "Origin: writes from another web site are refused; add the site to "
                                          "KOTAE_CORS_ORIGINS to allow it", "Origin", "cross_site_request")
        if refusal is not None:
            return await refusal(scope, receive, self._with_headers(scope, send))
        return await self.app(scope, receive, self._with_headers(scope, send))

    def _cross_site(self, headers: dict[bytes, str], host: str) -> bool:
        origin = headers.get(b"origin")
        if origin is not None:
            if origin.rstrip("/").lower() in self.origins:
                return False
            return origin == "null" or urlsplit(origin).netloc.lower() != host.lower()
        return headers.get(b"sec-fetch-site", "").lower() in ("cross-site", "same-site")

    @staticmethod
    def _with_headers(scope, send):
        page = not scope["path"].startswith(NO_CSP_PATHS)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                extra = list(ALWAYS)
                if page:
                    extra.append((b"content-security-policy", PAGE_CSP.encode()))
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [(k, v) for k, v in extra if k not in present]
            await send(message)

        return send_with_headers
