"""Check request bodies against Discord's own OpenAPI description.

The spec is read from a file outside the project (see FIBRO_OPENAPI_PATH); without it this half of
the checking is skipped and `OpenAPIChecker.available` says so. Where the spec and the live API are
known to differ (discord.py sends `attachments[].id` as an integer and `default_member_permissions`
as a digit string, both accepted by Discord), the body is adjusted before validation.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:  # the validators come with the `emulator` extra
    import jsonschema_rs
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012
except ImportError:  # pragma: no cover - reported through `available`
    Draft202012Validator = None  # type: ignore[assignment]

# Discord's API description, beside the project (../shared) unless FIBRO_OPENAPI_PATH names another.
DEFAULT_OPENAPI_PATH = Path(__file__).resolve().parent.parent.parent / "shared" / "discord-api-spec" / "openapi.json"


DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"  # the dialect of the spec's schemas (OpenAPI 3.1)


@dataclass(frozen=True)
class _Operation:
    pattern: re.Pattern[str]
    template: str
    method: str
    schema: dict[str, Any] | None


class OpenAPIChecker:
    def __init__(self, path: Path | None):
        self.path = path
        self.reason = ""
        self._operations: list[_Operation] = []
        self._validators: dict[int, Any] = {}
        self._fast: dict[int, Any] = {}
        self._registry = None
        self._spec: dict[str, Any] | None = None
        if Draft202012Validator is None:
            self.reason = "jsonschema and jsonschema-rs are not installed (pip install -e '.[emulator]')"
            return
        if path is None or not Path(path).is_file():
            self.reason = f"no OpenAPI description at {path}; set FIBRO_OPENAPI_PATH to check against it"
            return
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
        self._spec = spec
        # Every $ref in the spec is local ("#/components/..."); register the document under one URI.
        resource = Resource.from_contents(spec, default_specification=DRAFT202012)
        self._registry = Registry().with_resource("urn:discord-openapi", resource)
        for template, item in spec.get("paths", {}).items():
            regex = "^" + re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(template)) + "$"
            for method, op in item.items():
                if not isinstance(op, dict) or method == "parameters":
                    continue
                content = (op.get("requestBody") or {}).get("content") or {}
                schema = (content.get("application/json") or {}).get("schema")
                self._operations.append(_Operation(re.compile(regex), template, method.upper(), schema))
        # Literal segments ("@original", "@me") must win over placeholders.
        self._operations.sort(key=lambda o: o.template.count("{"))

    @property
    def available(self) -> bool:
        return self._spec is not None

    def find(self, method: str, path: str) -> _Operation | None:
        for op in self._operations:
            if op.method == method and op.pattern.match(path):
                return op
        return None

    def validator(self, schema: dict[str, Any]):
        key = id(schema)
        if key not in self._validators:
            wrapped = {"$schema": DRAFT_2020_12, **schema}
            wrapped = _rebase_refs(wrapped)
            self._validators[key] = Draft202012Validator(wrapped, registry=self._registry)
        return self._validators[key]

    def fast_validator(self, schema: dict[str, Any]):
        """The same schema compiled by jsonschema-rs, about fifty times faster on the bot's bodies:
        the schema with the spec's components beside it, so that '#/components/...' resolves."""
        key = id(schema)
        if key not in self._fast:
            assert self._spec is not None
            root = {"$schema": DRAFT_2020_12, **schema,
                    "components": self._spec["components"]}
            self._fast[key] = jsonschema_rs.validator_for(root)
        return self._fast[key]

    def route_schema(self, method: str, path: str, body: Any) -> tuple[str, Any, dict[str, Any] | None]:
        """(the route's template, the body as checked, the schema it is checked against); the
        schema is None when the route takes no JSON body. Raises KeyError for an unknown route."""
        op = self.find(method, path)
        if op is None:
            raise KeyError(f"{method} {path}")
        if op.schema is None or body is None:
            return op.template, body, None
        body = _known_differences(body)
        return op.template, body, _pick_variant(op.schema, body, self._spec)

    def check(self, method: str, path: str, body: Any) -> list[str]:
        """Return the problems found in `body` for this route (empty when valid or unchecked)."""
        if not self.available:
            return []
        try:
            template, body, schema = self.route_schema(method, path, body)
        except KeyError:
            return [f"openapi: {method} {path} is not an operation in Discord's API description"]
        # Every body is checked by the fast validator; one it refuses is described by jsonschema,
        # whose errors say where and why (tests/test_openapi_check.py holds both to one verdict).
        if schema is None or self.fast_validator(schema).is_valid(body):
            return []
        problems = [f"openapi: {template} {_describe(error)}"
                    for error in sorted(self.validator(schema).iter_errors(body), key=lambda e: list(e.path))]
        if not problems:
            problems = [f"openapi: {template} {next(self.fast_validator(schema).iter_errors(body)).message[:200]}"]
        return problems[:10]


def _describe(error) -> str:
    """The most specific reason, not 'is not valid under any of the given schemas' with a body dump."""
    while error.context:
        # The deepest error explains most; a bare type mismatch (say, "null") explains least.
        error = max(error.context, key=lambda e: (len(e.absolute_path), e.validator != "type"))
    where = "/".join(str(p) for p in error.absolute_path) or "(body)"
    message = error.message
    if len(message) > 200:
        message = f"fails {error.validator!r} {str(error.validator_value)[:80]}"
    return f"{where}: {message}"


def _rebase_refs(node: Any) -> Any:
    """'#/components/...' -> 'urn:discord-openapi#/components/...' so refs resolve in the registry."""
    if isinstance(node, dict):
        return {k: ("urn:discord-openapi" + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else _rebase_refs(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase_refs(v) for v in node]
    return node


def _pick_variant(schema: dict[str, Any], body: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """For an anyOf of request variants keyed by `type`, validate against the one whose type matches,
    so that an error names the variant the bot meant to send."""
    variants = schema.get("anyOf")
    if not variants or not isinstance(body, dict) or "type" not in body:
        return schema
    for variant in variants:
        ref = variant.get("$ref", "")
        target = spec["components"]["schemas"].get(ref.rsplit("/", 1)[-1]) if ref else variant
        enum = (((target or {}).get("properties") or {}).get("type") or {}).get("enum")
        if enum and body["type"] in enum:
            return variant
    return schema


def _known_differences(body: Any) -> Any:
    """Adjust what Discord accepts but its description does not (see the spec's README)."""
    if isinstance(body, list):
        return [_known_differences(b) for b in body]
    if not isinstance(body, dict):
        return body
    body = copy.deepcopy(body)
    # Discord documents permission bit sets as digit strings (commands, create/modify role); the spec says integer.
    for key in ("default_member_permissions", "permissions"):
        perms = body.get(key)
        if isinstance(perms, str) and perms.isdigit():
            body[key] = int(perms)
    # discord.py sends a DM's recipient as an integer; Discord accepts integer snowflakes.
    if isinstance(body.get("recipient_id"), int):
        body["recipient_id"] = str(body["recipient_id"])
    # discord.py sends permission overwrite ids (create channel) as integers; Discord accepts them.
    if isinstance(body.get("permission_overwrites"), list):
        for overwrite in body["permission_overwrites"]:
            if isinstance(overwrite, dict) and isinstance(overwrite.get("id"), int):
                overwrite["id"] = str(overwrite["id"])
    for holder in (body, body.get("data") if isinstance(body.get("data"), dict) else None):
        if holder and isinstance(holder.get("attachments"), list):
            for att in holder["attachments"]:
                if isinstance(att, dict) and isinstance(att.get("id"), int):
                    att["id"] = str(att["id"])
    return body
