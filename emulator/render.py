"""Show what the bot sent the way a member would read it: messages, embeds, buttons, modals."""

from __future__ import annotations

import re
import textwrap
from typing import Any

from emulator import rules
from emulator.server import Emulator, RecordedRequest

CALLBACK_KINDS = {4: "reply", 5: "thinking…", 6: "acknowledged the click", 7: "updated the message",
                  8: "autocomplete", 9: "opened a form"}


def render_requests(requests: list[RecordedRequest], emulator: Emulator) -> str:
    """What the bot sent, with mentions shown as a member's client shows them (#channel, @role)."""
    text = _render(requests, emulator)
    return MENTION.sub(lambda m: _mention_name(m, emulator), text)


MENTION = re.compile(r"<(#|@&|@!?)(\d{15,21})>")


def _mention_name(match: re.Match[str], emulator: Emulator) -> str:
    kind, ident = match.group(1), int(match.group(2))
    if kind == "#":
        channel = emulator.channels.get(ident)
        return f"#{channel['name']}" if channel and channel.get("name") else "#deleted-channel"
    if kind == "@&":
        for guild in emulator.guilds.values():
            for role in guild["roles"]:
                if role["id"] == str(ident):
                    return f"@{role['name']}"
        return "@deleted-role"
    user = emulator.users.get(ident)
    return f"@{user['global_name']}" if user else "@unknown-user"


def _render(requests: list[RecordedRequest], emulator: Emulator) -> str:
    lines: list[str] = []
    for req in requests:
        body = req.body if isinstance(req.body, (dict, list)) else {}
        if req.path.endswith("/callback") and isinstance(body, dict):
            kind = body.get("type")
            data = body.get("data") or {}
            private = " (only you can see this)" if int(data.get("flags") or 0) & 64 else ""
            lines.append(f"  ⮑ {CALLBACK_KINDS.get(kind, f'callback {kind}')}{private}")
            if kind in (4, 7):
                lines += _message(data)
            elif kind == 8:
                for choice in data.get("choices") or []:
                    lines.append(f"      • {choice.get('name')}")
                if not data.get("choices"):
                    lines.append("      (no suggestions)")
            elif kind == 9:
                lines += _modal(data)
        elif req.path.startswith("/webhooks/") and req.method in ("POST", "PATCH") and isinstance(body, dict):
            what = "follow-up" if req.method == "POST" else "edited the reply"
            private = " (only you can see this)" if int(body.get("flags") or 0) & 64 else ""
            lines.append(f"  ⮑ {what}{private}")
            lines += _message(body)
        elif req.path.startswith("/channels/") and req.method in ("POST", "PATCH") and isinstance(body, dict):
            channel_id = int(req.path.split("/")[2]) if req.path.split("/")[2].isdigit() else 0
            channel = emulator.channels.get(channel_id, {})
            where = "a direct message" if channel.get("type") == 1 else f"#{channel.get('name', channel_id)}"
            verb = "message in" if req.method == "POST" else "edited a message in"
            lines.append(f"  ⮑ {verb} {where}")
            lines += _message(body)
        elif req.method in ("PUT",) and req.path.endswith("/commands"):
            lines.append(f"  ⮑ synced {len(req.body or [])} commands")
        elif req.method == "POST" and req.path.startswith("/guilds/") and req.path.endswith("/channels") and isinstance(body, dict):
            lines.append(f"  ⮑ created channel #{body.get('name')}")
        elif req.method == "POST" and req.path.endswith("/roles") and isinstance(body, dict):
            lines.append(f"  ⮑ created role @{body.get('name')}")
        for file in req.files:
            lines.append(f"      [file {file.get('filename')} · {file.get('size')} bytes]")
        if req.status >= 400:
            lines.append(f"      ! Discord answered {req.status}")
        for violation in req.violations:
            lines.append(f"      ! RULE BROKEN: {violation}")
    return "\n".join(lines)


def _wrap(text: str, indent: str) -> list[str]:
    out = []
    for para in str(text).split("\n"):
        out += textwrap.wrap(para, 96, initial_indent=indent, subsequent_indent=indent) or [indent.rstrip()]
    return out


def _message(data: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if data.get("content"):
        lines += _wrap(data["content"], "      ")
    for embed in data.get("embeds") or []:
        if embed.get("author", {}).get("name"):
            lines.append(f"      ┃ {embed['author']['name']}")
        if embed.get("title"):
            lines.append(f"      ┃ **{embed['title']}**")
        if embed.get("description"):
            lines += _wrap(embed["description"], "      ┃ ")
        for field in embed.get("fields") or []:
            lines.append(f"      ┃ ▸ {field.get('name')}")
            lines += _wrap(field.get("value", ""), "      ┃     ")
        if (embed.get("footer") or {}).get("text"):
            lines += _wrap("— " + embed["footer"]["text"], "      ┃ ")
    for row in data.get("components") or []:
        buttons = []
        for comp in row.get("components") or []:
            if comp.get("type") == 2:
                off = " (disabled)" if comp.get("disabled") else ""
                buttons.append(f"[{comp.get('label') or comp.get('emoji', {}).get('name', '?')}{off}]")
            elif comp.get("type") in (3, 5, 6, 7, 8):
                opts = ", ".join(o.get("label", "") for o in comp.get("options") or [])
                buttons.append(f"<menu: {comp.get('placeholder') or 'choose'}{': ' + opts if opts else ''}>")
        if buttons:
            lines.append("      " + " ".join(buttons))
    return lines


def _modal(data: dict[str, Any]) -> list[str]:
    lines = [f"      ┏ {data.get('title')}"]
    for comp in data.get("components") or []:
        for child in rules.children(comp):
            if child.get("type") == 4:
                label = comp.get("label") or child.get("label")
                need = "required" if child.get("required", True) else "optional"
                limit = f", up to {child['max_length']} characters" if child.get("max_length") else ""
                lines.append(f"      ┃ {label} (field {child['custom_id']}, {need}{limit})")
            elif child.get("type") in rules.CHOICE_TYPES:
                label = comp.get("label")
                if child["type"] == rules.CHECKBOX:
                    ticked = "ticked" if child.get("default") else "not ticked"
                    lines.append(f"      ┃ {label} (field {child['custom_id']}, a checkbox: yes or no; {ticked} at first)")
                    continue
                how = "pick one" if child["type"] == rules.RADIO_GROUP else "tick any, comma separated"
                need = "required" if child.get("required", True) else "optional"
                lines.append(f"      ┃ {label} (field {child['custom_id']}, {how}, {need}):")
                for option in child.get("options") or []:
                    mark = "◉" if option.get("default") else "○"
                    extra = f" — {option['description']}" if option.get("description") else ""
                    lines.append(f"      ┃   {mark} {option.get('label')}{extra}")
        if comp.get("type") == 10:
            lines += _wrap(comp.get("content", ""), "      ┃ ")
    choices = [child for comp in data.get("components") or [] for child in rules.children(comp)
               if child.get("type") in (rules.RADIO_GROUP, rules.CHECKBOX_GROUP)]
    example = (f" ({choices[0]['custom_id']}={choices[0]['options'][0].get('label')} picks a choice by its label)"
               if choices and choices[0].get("options") else "")
    lines.append(f"      ┗ answer with: modal field=value …{example}")
    return lines
