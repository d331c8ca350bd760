"""The REST front of the emulated Discord: every request recorded, held to the rate limits, to
the injected faults and to Discord's rules and OpenAPI description, then routed to its handler."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from aiohttp import web

from emulator import rules

log = logging.getLogger("fibrocircle.emulator")

API_PREFIX = "/api/v10"


def json_response(data: Any, status: int = 200) -> web.Response:
    # discord.py compares Content-Type as a string: "; charset=utf-8" would break login.
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


def discord_error(status: int, code: int, message: str, errors: Any = None) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    return json_response(body, status)


@dataclass
class RecordedRequest:
    n: int
    method: str
    path: str              # without the /api/v10 prefix
    query: dict[str, str]
    body: Any
    files: list[dict[str, Any]]
    status: int = 0
    violations: list[str] = field(default_factory=list)
    interaction_id: int | None = None
    at: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        out = {"method": self.method, "path": self.path, "status": self.status, "body": self.body}
        if self.query:
            out["query"] = self.query
        if self.files:
            out["files"] = self.files
        if self.violations:
            out["violations"] = self.violations
        return out


@dataclass
class Fault:
    """Make matching requests fail: status 429 (with retry_after), 5xx, or answer slowly."""
    method: str
    path_prefix: str
    status: int = 500
    times: int = 1
    delay: float = 0.0
    retry_after: float = 0.05
    # Discord did the request but its answer never arrived (a proxy timeout): the change is made,
    # and the caller gets `status` all the same.
    lost_answer: bool = False

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and method == self.method and path.startswith(self.path_prefix)


class RestMixin:
    """The REST part of `Emulator`: the web application, its recording and its routing."""

    # -- REST ---------------------------------------------------------------------------
    def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/attachments/{id}/{name}", self._attachment)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        return app

    async def _attachment(self, request: web.Request) -> web.Response:
        data = self.attachments.get(int(request.match_info["id"]))
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, headers={"Content-Type": "application/octet-stream"})

    def add_attachment(self, filename: str, data: bytes, content_type: str = "application/json") -> dict[str, Any]:
        att_id = self.snowflake()
        self.attachments[att_id] = data
        url = f"http://{self.host}:{self.port}/attachments/{att_id}/{filename}"
        return {"id": str(att_id), "filename": filename, "size": len(data), "url": url, "proxy_url": url,
                "content_type": content_type}

    def on_request(self, listener: Callable[[RecordedRequest], None]) -> None:
        self._request_listeners.append(listener)

    async def _read_body(self, request: web.Request) -> tuple[Any, list[dict[str, Any]]]:
        files: list[dict[str, Any]] = []
        if request.content_type.startswith("multipart/"):
            body = None
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    body = json.loads(await part.text())
                else:
                    data = await part.read()
                    files.append({"field": part.name, "filename": part.filename, "size": len(data),
                                  "content": data.decode("utf-8", "replace") if len(data) < 200_000 else None})
            return body, files
        raw = await request.read()
        if not raw:
            return None, files
        try:
            return json.loads(raw), files
        except ValueError:
            return {"__invalid_json__": raw[:200].decode("utf-8", "replace")}, files

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        method = request.method
        body, files = await self._read_body(request)
        rec = RecordedRequest(n=len(self.requests) + 1, method=method, path=path, query=dict(request.query),
                              body=body, files=files, at=time.perf_counter())
        self.requests.append(rec)
        verdict = self.ratelimits.check(method, path.strip("/").split("/"))
        if verdict.retry_after is not None:
            self.ratelimits.limited.append(f"{method} {path} ({verdict.headers['X-RateLimit-Scope']})")
            response = json_response({"message": "You are being rate limited.", "retry_after": round(verdict.retry_after, 3),
                                      "global": verdict.is_global}, 429)
        else:
            try:
                response = await self._answer(rec)
            except Exception as exc:  # a bug here must not look like a bot bug
                log.exception("emulator failed on %s %s", method, path)
                response = discord_error(500, 0, f"emulator error: {exc}")
        for name, value in verdict.headers.items():
            response.headers.setdefault(name, value)
        self.ratelimits.count(response.status, dict(response.headers))
        rec.status = response.status
        for listener in self._request_listeners:
            listener(rec)
        return response

    async def _answer(self, rec: RecordedRequest) -> web.Response:
        method, path, body = rec.method, rec.path, rec.body
        for fault in self.faults:
            if fault.matches(method, path) and fault.lost_answer:
                fault.times -= 1
                await self._answer_for_real(rec, method, path, body)
                return discord_error(fault.status, 0, f"{fault.status}: the answer was lost")
            if fault.matches(method, path):
                fault.times -= 1
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status == 429:
                    # As Discord sends it: discord.py only retries a 429 that came through Discord's proxy (Via).
                    response = json_response({"message": "You are being rate limited.", "retry_after": fault.retry_after,
                                              "global": False}, 429)
                    response.headers.update({"Via": "1.1 google", "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
                                             "X-RateLimit-Reset-After": str(fault.retry_after),
                                             "X-RateLimit-Bucket": "emulated", "X-RateLimit-Scope": "user"})
                    return response
                if fault.status >= 400:
                    return discord_error(fault.status, 0, f"{fault.status}: injected failure")
        return await self._answer_for_real(rec, method, path, body)

    async def _answer_for_real(self, rec: RecordedRequest, method: str, path: str, body: Any) -> web.Response:
        parts = path.strip("/").split("/")
        handler, args = self._route(method, parts)
        if handler is None:
            rec.violations.append(f"unknown route {method} {path}")
            return discord_error(404, 0, "404: Not Found")

        rec.violations += self._validate(method, path, parts, body)
        if rec.violations:
            log.warning("invalid body for %s %s: %s", method, path, rec.violations)
            return discord_error(400, 50035, "Invalid Form Body", {"_errors": [{"code": "BASE_TYPE_INVALID",
                                                                               "message": v} for v in rec.violations]})
        return await handler(rec, *args)

    def _validate(self, method: str, path: str, parts: list[str], body: Any) -> list[str]:
        problems: list[str] = []
        if body is None:
            return problems
        if parts[0] == "interactions" and parts[-1] == "callback":
            problems += rules.check_interaction_callback(body)
        elif parts[0] == "applications" and parts[-1] == "commands" and method == "PUT":
            problems += rules.check_commands(body, global_scope="guilds" not in parts)
        elif (parts[0] == "channels" and "messages" in parts) or parts[0] == "webhooks":
            if method in ("POST", "PATCH"):
                problems += rules.check_message(body)
        problems += self.openapi.check(method, path, body)
        return problems

    def _route(self, method: str, p: list[str]) -> tuple[Callable[..., Awaitable[web.Response]] | None, tuple]:
        n = len(p)
        if p == ["users", "@me"] and method == "GET":
            return self._get_me, ()
        if p == ["oauth2", "applications", "@me"] and method == "GET":
            return self._get_application, ()
        if p == ["gateway", "bot"] and method == "GET":
            return self._get_gateway_bot, ()
        if p == ["users", "@me", "channels"] and method == "POST":
            return self._create_dm, ()
        if n >= 3 and p[0] == "applications" and p[-1] == "commands" and method in ("PUT", "GET"):
            scope = p[3] if n == 5 else "global"
            return (self._put_commands if method == "PUT" else self._get_commands), (scope,)
        if n == 4 and p[0] == "interactions" and p[3] == "callback" and method == "POST":
            return self._callback, (int(p[1]), p[2])
        if n >= 3 and p[0] == "webhooks":
            token = p[2]
            if n == 3 and method == "POST":
                return self._followup, (token,)
            if n == 5 and p[3] == "messages":
                return self._webhook_message, (token, p[4])
        if n >= 3 and p[0] == "channels" and p[2] == "messages":
            channel_id = int(p[1]) if p[1].isdigit() else 0
            if n == 3 and method == "POST":
                return self._create_message, (channel_id,)
            if n == 4:
                return self._channel_message, (channel_id, p[3])
        if n == 2 and p[0] == "channels" and method == "GET":
            return self._get_channel, (int(p[1]) if p[1].isdigit() else 0,)
        if n == 3 and p[0] == "guilds" and p[2] == "channels" and method in ("GET", "POST"):
            return self._guild_channels, (int(p[1]),)
        if n == 3 and p[0] == "guilds" and p[2] == "roles" and method in ("GET", "POST"):
            return self._guild_roles, (int(p[1]),)
        if n == 4 and p[0] == "guilds" and p[2] == "members" and method == "GET":
            return self._get_member, (int(p[1]), int(p[3]) if p[3].isdigit() else 0)
        return None, ()
