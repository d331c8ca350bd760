"""Discord's documented limits, checked on every request body the bot sends.

discord.py checks almost none of these locally, and Discord answers a body that breaks one with
HTTP 400 / code 50035. Sources: Discord's developer documentation (see the README's Discord rules).
Each function returns a list of human-readable problems; empty means the body is fine.
"""

from __future__ import annotations

from typing import Any

try:
    import regex  # Discord's name pattern needs \p{sc=Deva} and \p{sc=Thai}
    COMMAND_NAME = regex.compile(r"^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$")
except ImportError:  # pragma: no cover - the `emulator` extra brings it
    import re
    COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_LIMITS = {"title": 256, "description": 4096}
EMBED_TOTAL_MAX = 6000
FIELDS_MAX, FIELD_NAME_MAX, FIELD_VALUE_MAX = 25, 256, 1024
FOOTER_MAX, AUTHOR_NAME_MAX = 2048, 256
ACTION_ROWS_MAX, ROW_BUTTONS_MAX = 5, 5
CUSTOM_ID_MAX, BUTTON_LABEL_MAX = 100, 80
SELECT_OPTIONS_MAX, SELECT_PLACEHOLDER_MAX = 25, 150
MODAL_TITLE_MAX, MODAL_COMPONENTS_MAX = 45, 5
TEXT_INPUT_MAX, TEXT_INPUT_LABEL_MAX, TEXT_INPUT_PLACEHOLDER_MAX = 4000, 45, 100
CHOICES_MAX, CHOICE_TEXT_MAX = 25, 100
OPTIONS_MAX, SUBCOMMANDS_MAX, GLOBAL_COMMANDS_MAX = 25, 25, 100
DESCRIPTION_MAX, COMMAND_TOTAL_MAX = 100, 8000
SUBCOMMAND, SUBCOMMAND_GROUP = 1, 2
SELECT_TYPES = (3, 5, 6, 7, 8)
LABEL = 18
LABEL_TEXT_MAX, LABEL_DESCRIPTION_MAX = 45, 100
RADIO_GROUP, CHECKBOX_GROUP, CHECKBOX = 21, 22, 23
CHOICE_TYPES = (RADIO_GROUP, CHECKBOX_GROUP, CHECKBOX)  # modal-only, and only inside a Label
RADIO_OPTIONS = (2, 10)
CHECKBOX_OPTIONS = (1, 10)
OPTION_TEXT_MAX = 100


def _len(value: Any) -> int:
    return len(value) if isinstance(value, str) else 0


def check_message(body: dict[str, Any], where: str = "message") -> list[str]:
    """A message body: channel messages, interaction replies, followups and edits."""
    problems: list[str] = []
    content = body.get("content")
    if isinstance(content, str) and len(content) > CONTENT_MAX:
        problems.append(f"{where}.content is {len(content)} characters; the limit is {CONTENT_MAX}")
    embeds = body.get("embeds") or []
    if len(embeds) > EMBEDS_MAX:
        problems.append(f"{where} has {len(embeds)} embeds; the limit is {EMBEDS_MAX}")
    total = 0
    for n, embed in enumerate(embeds):
        total += _check_embed(embed, f"{where}.embeds[{n}]", problems)
    if total > EMBED_TOTAL_MAX:
        problems.append(f"{where}'s embeds hold {total} characters together; the limit is {EMBED_TOTAL_MAX}")
    problems += check_components(body.get("components") or [], f"{where}.components")
    # Every message must forbid pings: member-written text may hold @everyone or <@id>.
    if content or embeds:
        mentions = body.get("allowed_mentions")
        if not isinstance(mentions, dict) or mentions.get("parse") not in ([], None) or mentions.get("users") or mentions.get("roles") \
                or mentions.get("replied_user"):
            problems.append(f"{where}.allowed_mentions must forbid every ping (parse: [])")
        elif "parse" not in mentions:
            problems.append(f"{where}.allowed_mentions must forbid every ping (parse: [])")
    return problems


def _check_embed(embed: dict[str, Any], where: str, problems: list[str]) -> int:
    total = 0
    for key, limit in EMBED_LIMITS.items():
        n = _len(embed.get(key))
        total += n
        if n > limit:
            problems.append(f"{where}.{key} is {n} characters; the limit is {limit}")
    fields = embed.get("fields") or []
    if len(fields) > FIELDS_MAX:
        problems.append(f"{where} has {len(fields)} fields; the limit is {FIELDS_MAX}")
    for i, field in enumerate(fields):
        name, value = _len(field.get("name")), _len(field.get("value"))
        total += name + value
        if not name or not value:
            problems.append(f"{where}.fields[{i}] needs a name and a value")
        if name > FIELD_NAME_MAX:
            problems.append(f"{where}.fields[{i}].name is {name} characters; the limit is {FIELD_NAME_MAX}")
        if value > FIELD_VALUE_MAX:
            problems.append(f"{where}.fields[{i}].value is {value} characters; the limit is {FIELD_VALUE_MAX}")
    footer = _len((embed.get("footer") or {}).get("text"))
    author = _len((embed.get("author") or {}).get("name"))
    total += footer + author
    if footer > FOOTER_MAX:
        problems.append(f"{where}.footer.text is {footer} characters; the limit is {FOOTER_MAX}")
    if author > AUTHOR_NAME_MAX:
        problems.append(f"{where}.author.name is {author} characters; the limit is {AUTHOR_NAME_MAX}")
    return total


def check_components(rows: list[dict[str, Any]], where: str) -> list[str]:
    problems: list[str] = []
    if len(rows) > ACTION_ROWS_MAX:
        problems.append(f"{where} has {len(rows)} action rows; the limit is {ACTION_ROWS_MAX}")
    seen: set[str] = set()
    for r, row in enumerate(rows):
        children = row.get("components") or []
        if row.get("type") == 1 and len(children) > ROW_BUTTONS_MAX:
            problems.append(f"{where}[{r}] has {len(children)} components; the limit is {ROW_BUTTONS_MAX}")
        # Component Reference > Action Row: up to 5 buttons, or a single select menu.
        if row.get("type") == 1 and len(children) > 1 and any(c.get("type") in SELECT_TYPES for c in children):
            problems.append(f"{where}[{r}] holds a select menu beside other components; a select stands alone in its row")
        for c, comp in enumerate(children):
            at = f"{where}[{r}][{c}]"
            cid = comp.get("custom_id")
            if cid is not None:
                if not (1 <= len(cid) <= CUSTOM_ID_MAX):
                    problems.append(f"{at}.custom_id is {len(cid)} characters; it must be 1-{CUSTOM_ID_MAX}")
                if cid in seen:
                    problems.append(f"{at}.custom_id {cid!r} is used twice in one message")
                seen.add(cid)
            elif comp.get("type") == 2 and comp.get("style") != 5:
                problems.append(f"{at} is a button without a custom_id")
            if comp.get("type") == 2 and _len(comp.get("label")) > BUTTON_LABEL_MAX:
                problems.append(f"{at}.label is longer than {BUTTON_LABEL_MAX} characters")
            if comp.get("type") == 3:
                options = comp.get("options") or []
                if not (1 <= len(options) <= SELECT_OPTIONS_MAX):
                    problems.append(f"{at} has {len(options)} options; it must be 1-{SELECT_OPTIONS_MAX}")
            if _len(comp.get("placeholder")) > SELECT_PLACEHOLDER_MAX:
                problems.append(f"{at}.placeholder is longer than {SELECT_PLACEHOLDER_MAX} characters")
    return problems


def children(component: dict[str, Any]) -> list[dict[str, Any]]:
    """What a top-level modal component holds: an action row's components, or a label's one."""
    return component.get("components") or ([component["component"]] if component.get("component") else [])


def check_modal(data: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    title = data.get("title") or ""
    if not (1 <= len(title) <= MODAL_TITLE_MAX):
        problems.append(f"modal.title is {len(title)} characters; it must be 1-{MODAL_TITLE_MAX}")
    cid = data.get("custom_id") or ""
    if not (1 <= len(cid) <= CUSTOM_ID_MAX):
        problems.append(f"modal.custom_id is {len(cid)} characters; it must be 1-{CUSTOM_ID_MAX}")
    comps = data.get("components") or []
    if not (1 <= len(comps) <= MODAL_COMPONENTS_MAX):
        problems.append(f"modal has {len(comps)} components; it must be 1-{MODAL_COMPONENTS_MAX}")
    for n, comp in enumerate(comps):
        at = f"modal.components[{n}]"
        if comp.get("type") == LABEL:
            if not (1 <= _len(comp.get("label")) <= LABEL_TEXT_MAX):
                problems.append(f"{at}.label must be 1-{LABEL_TEXT_MAX} characters")
            if _len(comp.get("description")) > LABEL_DESCRIPTION_MAX:
                problems.append(f"{at}.description is longer than {LABEL_DESCRIPTION_MAX} characters")
        for child in [comp, *children(comp)]:
            # Component Reference: `disabled` is not allowed on components in modals.
            if "disabled" in child:
                problems.append(f"{at}: `disabled` is not allowed in a modal")
            if child.get("type") in CHOICE_TYPES:
                if child is comp or comp.get("type") != LABEL:
                    # Component Reference > Radio Group, Checkbox Group, Checkbox: "must be placed
                    # inside a Label".
                    problems.append(f"{at}: a radio group, checkbox group or checkbox must be placed inside a Label")
                problems += _check_choice(child, at)
        for text_input in children(comp):
            if text_input.get("type") != 4:
                continue
            # Component Reference > Text Input: inside a Label, the label is the Label's; the
            # text input's own `label` is deprecated there and refused (null, as discord.py sends
            # it, means none: the OpenAPI description allows it).
            if comp.get("type") == LABEL and text_input.get("label") is not None:
                problems.append(f"{at}: a text input inside a Label has no label of its own")
            if int(text_input.get("max_length") or 0) > TEXT_INPUT_MAX:
                problems.append(f"{at}.max_length is over {TEXT_INPUT_MAX}")
            if _len(text_input.get("value")) > TEXT_INPUT_MAX:
                problems.append(f"{at}.value is over {TEXT_INPUT_MAX} characters")
            label = text_input.get("label") or comp.get("label")
            if label is not None and _len(label) > TEXT_INPUT_LABEL_MAX:
                problems.append(f"{at}.label is longer than {TEXT_INPUT_LABEL_MAX} characters")
            if _len(text_input.get("placeholder")) > TEXT_INPUT_PLACEHOLDER_MAX:
                problems.append(f"{at}.placeholder is longer than {TEXT_INPUT_PLACEHOLDER_MAX} characters")
    return problems


def _check_choice(comp: dict[str, Any], at: str) -> list[str]:
    """A radio group, checkbox group or checkbox (Component Reference, February 2026). The OpenAPI
    description has their request shapes too; these written rules also hold when it is absent, and
    add what its schema cannot say (one default in a radio group, values that differ, min_values
    against required and against the number of options)."""
    problems: list[str] = []
    kind = comp.get("type")
    name = {RADIO_GROUP: "radio group", CHECKBOX_GROUP: "checkbox group", CHECKBOX: "checkbox"}[kind]
    if not (1 <= _len(comp.get("custom_id")) <= CUSTOM_ID_MAX):
        problems.append(f"{at}: a {name}'s custom_id must be 1-{CUSTOM_ID_MAX} characters")
    if kind == CHECKBOX:
        for key in ("options", "required", "min_values", "max_values"):
            if key in comp:  # a checkbox cannot be required: a one-option checkbox group can
                problems.append(f"{at}: a checkbox has no `{key}`")
        if "default" in comp and not isinstance(comp["default"], bool):
            problems.append(f"{at}: a checkbox's default is true or false")
        return problems
    options = comp.get("options") or []
    low, high = RADIO_OPTIONS if kind == RADIO_GROUP else CHECKBOX_OPTIONS
    if not (low <= len(options) <= high):
        problems.append(f"{at}: a {name} has {len(options)} options; it must be {low}-{high}")
    for i, option in enumerate(options):
        for key in ("label", "value"):
            if not (1 <= _len(option.get(key)) <= OPTION_TEXT_MAX):
                problems.append(f"{at}.options[{i}].{key} must be 1-{OPTION_TEXT_MAX} characters")
        if _len(option.get("description")) > OPTION_TEXT_MAX:
            problems.append(f"{at}.options[{i}].description is longer than {OPTION_TEXT_MAX} characters")
    values = [o.get("value") for o in options]
    if len(set(values)) != len(values):  # the submit names the chosen options by value alone
        problems.append(f"{at}: two options of the {name} have the same value")
    defaults = sum(1 for o in options if o.get("default"))
    if kind == RADIO_GROUP:
        for key in ("min_values", "max_values"):
            if key in comp:
                problems.append(f"{at}: a radio group has no `{key}` (exactly one option is chosen)")
        if defaults > 1:  # "for selecting exactly one option": two cannot start selected
            problems.append(f"{at}: a radio group can preselect at most one option (it has {defaults})")
        return problems
    least, most = comp.get("min_values"), comp.get("max_values")
    if least is not None and not (0 <= least <= 10):
        problems.append(f"{at}.min_values must be 0-10")
    if most is not None and not (1 <= most <= 10):
        problems.append(f"{at}.max_values must be 1-10")
    if least == 0 and comp.get("required", True):
        problems.append(f"{at}: min_values 0 needs required false (a required group needs at least one)")
    most = len(options) if most is None else most
    if least is not None and least > most:
        problems.append(f"{at}: min_values {least} is more than max_values {most}")
    if defaults > most:
        problems.append(f"{at}: {defaults} options are preselected; at most {most} can be chosen")
    return problems


def check_autocomplete(data: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    choices = data.get("choices") or []
    if len(choices) > CHOICES_MAX:
        problems.append(f"autocomplete returned {len(choices)} choices; the limit is {CHOICES_MAX}")
    for n, choice in enumerate(choices):
        for key in ("name", "value"):
            value = str(choice.get(key, ""))
            if not (1 <= len(value) <= CHOICE_TEXT_MAX):
                problems.append(f"autocomplete choice {n} {key} is {len(value)} characters; it must be 1-{CHOICE_TEXT_MAX}")
    return problems


def check_interaction_callback(body: dict[str, Any]) -> list[str]:
    kind, data = body.get("type"), body.get("data") or {}
    if kind in (4, 7):
        return check_message(data, "reply")
    if kind == 8:
        return check_autocomplete(data)
    if kind == 9:
        return check_modal(data)
    if kind in (5, 6):
        return []
    return [f"interaction callback type {kind!r} is not one the bot should send"]


def check_commands(commands: list[dict[str, Any]], *, global_scope: bool = True) -> list[str]:
    """The payload `tree.sync()` sends."""
    problems: list[str] = []
    if global_scope and len(commands) > GLOBAL_COMMANDS_MAX:
        problems.append(f"{len(commands)} commands; the limit is {GLOBAL_COMMANDS_MAX}")
    names = [c.get("name") for c in commands]
    for dup in {n for n in names if names.count(n) > 1}:
        problems.append(f"two commands are named {dup!r}")
    for command in commands:
        name = command.get("name", "")
        # Context-menu commands (types 2 and 3) have no description.
        problems += _check_named(command, f"/{name}", needs_description=command.get("type", 1) == 1)
        if command.get("type", 1) == 1:
            total = _count_chars(command)
            if total > COMMAND_TOTAL_MAX:
                problems.append(f"/{name}: names, descriptions and choices hold {total} characters; the limit is {COMMAND_TOTAL_MAX}")
            problems += _check_options(command.get("options") or [], f"/{name}")
    return problems


def _check_named(item: dict[str, Any], where: str, *, needs_description: bool = True) -> list[str]:
    problems = []
    name = item.get("name", "")
    if not COMMAND_NAME.match(name) or name != name.lower():
        problems.append(f"{where}: name {name!r} must be 1-32 lowercase letters, digits, - or _")
    desc = item.get("description", "")
    if needs_description and not (1 <= len(desc) <= DESCRIPTION_MAX):
        problems.append(f"{where}: description is {len(desc)} characters; it must be 1-{DESCRIPTION_MAX}")
    return problems


def _check_options(options: list[dict[str, Any]], where: str) -> list[str]:
    problems: list[str] = []
    subs = [o for o in options if o.get("type") in (SUBCOMMAND, SUBCOMMAND_GROUP)]
    if subs and len(subs) != len(options):
        problems.append(f"{where}: subcommands cannot be mixed with options")
    if subs and len(subs) > SUBCOMMANDS_MAX:
        problems.append(f"{where}: {len(subs)} subcommands; the limit is {SUBCOMMANDS_MAX}")
    if not subs and len(options) > OPTIONS_MAX:
        problems.append(f"{where}: {len(options)} options; the limit is {OPTIONS_MAX}")
    names = [o.get("name") for o in options]
    for dup in {n for n in names if names.count(n) > 1}:
        problems.append(f"{where}: option name {dup!r} is used twice")
    seen_optional = False
    for opt in options:
        at = f"{where} {opt.get('name', '?')}"
        problems += _check_named(opt, at)
        if opt.get("type") in (SUBCOMMAND, SUBCOMMAND_GROUP):
            problems += _check_options(opt.get("options") or [], at)
            continue
        if opt.get("required"):
            if seen_optional:
                problems.append(f"{at}: a required option comes after an optional one")
        else:
            seen_optional = True
        choices = opt.get("choices") or []
        if len(choices) > CHOICES_MAX:
            problems.append(f"{at}: {len(choices)} choices; the limit is {CHOICES_MAX}")
        if choices and opt.get("autocomplete"):
            problems.append(f"{at}: an option cannot have both choices and autocomplete")
        for choice in choices:
            if not (1 <= len(str(choice.get("name", ""))) <= CHOICE_TEXT_MAX):
                problems.append(f"{at}: choice name {choice.get('name')!r} must be 1-{CHOICE_TEXT_MAX} characters")
            # Application Commands > Application Command Option Choice Structure: a string value
            # is 1-100 characters.
            value = choice.get("value")
            if isinstance(value, str) and not (1 <= len(value) <= CHOICE_TEXT_MAX):
                problems.append(f"{at}: choice value {value[:20]!r}... must be 1-{CHOICE_TEXT_MAX} characters")
    return problems


def _count_chars(item: dict[str, Any]) -> int:
    total = len(item.get("name", "")) + len(item.get("description", ""))
    for choice in item.get("choices") or []:
        total += len(str(choice.get("name", ""))) + len(str(choice.get("value", "")))
    for opt in item.get("options") or []:
        total += _count_chars(opt)
    return total


# -- what a Discord client lets through ---------------------------------------------------------
OPTION_STRING, OPTION_INTEGER, OPTION_BOOLEAN, OPTION_NUMBER = 3, 4, 5, 10


def client_refusal(command: dict[str, Any], data: dict[str, Any]) -> str | None:
    """Why Discord's own client would not send this command as typed, or None.

    Application Commands > Application Command Option Structure: the client makes the member fill
    `required` options, keeps numbers within `min_value`/`max_value`, text within
    `min_length`/`max_length` and values among the `choices`, before any interaction exists. A
    modified client can still send such input; the bot must answer it kindly too."""
    definitions = command.get("options") or []
    given = data.get("options") or []
    path = [command["name"]]
    # Walk down subcommand groups and subcommands to the options of the one being run.
    while given and given[0].get("type") in (SUBCOMMAND, SUBCOMMAND_GROUP):
        sub = next((d for d in definitions if d["name"] == given[0]["name"]), None)
        if sub is None:
            return f"/{' '.join(path)} has no subcommand {given[0]['name']!r}"
        path.append(sub["name"])
        definitions, given = sub.get("options") or [], given[0].get("options") or []
    where = "/" + " ".join(path)
    values = {o["name"]: o.get("value") for o in given}
    for option in definitions:
        name = option["name"]
        if name not in values:
            if option.get("required"):
                return f"{where} needs the option {name}"
            continue
        problem = _option_refusal(option, values[name])
        if problem:
            return f"{where} {name}: {problem}"
    return None


def _option_refusal(option: dict[str, Any], value: Any) -> str | None:
    kind = option.get("type")
    choices = option.get("choices") or []
    if choices and value not in [c["value"] for c in choices]:
        return "pick one of " + ", ".join(str(c["name"]) for c in choices)
    if kind in (OPTION_INTEGER, OPTION_NUMBER):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind == OPTION_INTEGER and not isinstance(value, int)):
            return "a whole number is needed" if kind == OPTION_INTEGER else "a number is needed"
        low, high = option.get("min_value"), option.get("max_value")
        if low is not None and value < low:
            return f"the value must be at least {low}"
        if high is not None and value > high:
            return f"the value must be at most {high}"
    if kind == OPTION_STRING:
        if not isinstance(value, str):
            return "text is needed"
        low, high = option.get("min_length"), option.get("max_length")
        if low is not None and len(value) < low:
            return f"at least {low} characters are needed"
        if high is not None and len(value) > high:
            return f"at most {high} characters are allowed"
    if kind == OPTION_BOOLEAN and not isinstance(value, bool):
        return "True or False is needed"
    return None


def form_refusal(modal: dict[str, Any], data: dict[str, Any]) -> str | None:
    """Why Discord's client would not submit this form, or None (Component Reference > Text Input:
    `required`, true by default, `min_length` and `max_length` are kept by the client; a required
    radio group needs its one choice, a checkbox group between min_values and max_values, and a
    choice is always one of the options shown)."""
    fields = {child["custom_id"]: child for comp in modal.get("components") or [] for child in children(comp)
              if child.get("type") in (4, *CHOICE_TYPES)}
    submitted = {child["custom_id"]: child for comp in data.get("components") or []
                 for child in children(comp) if "custom_id" in child}
    for custom_id, field in fields.items():
        answer = submitted.get(custom_id, {})
        if field["type"] in CHOICE_TYPES:
            reason = _choice_refusal(field, answer)
            if reason:
                return reason
            continue
        value = answer.get("value") or ""
        if not value:
            if field.get("required", True):
                return f"the field {custom_id} must be filled in"
            continue
        if field.get("min_length") is not None and len(value) < field["min_length"]:
            return f"the field {custom_id} needs at least {field['min_length']} characters"
        if field.get("max_length") is not None and len(value) > field["max_length"]:
            return f"the field {custom_id} takes at most {field['max_length']} characters"
    return None


def _choice_refusal(field: dict[str, Any], answer: dict[str, Any]) -> str | None:
    custom_id, kind = field["custom_id"], field["type"]
    if kind == CHECKBOX:
        return None if isinstance(answer.get("value"), bool) else f"the checkbox {custom_id} is either ticked or not"
    offered = [o.get("value") for o in field.get("options") or []]
    if kind == RADIO_GROUP:
        value = answer.get("value")
        if value is None:
            return f"one of the choices for {custom_id} must be picked" if field.get("required", True) else None
        return None if value in offered else f"{value!r} is not one of the choices for {custom_id}"
    values = answer.get("values") or []
    required = field.get("required", True)
    least = field.get("min_values", 1 if required else 0)
    most = field.get("max_values") or len(offered)
    for value in values:
        if value not in offered:
            return f"{value!r} is not one of the choices for {custom_id}"
    if len(set(values)) != len(values):
        return f"a choice for {custom_id} is ticked twice"
    if not values and not required:
        return None
    if not (least <= len(values) <= most):
        return f"{custom_id} takes {least}-{most} choices (got {len(values)})"
    return None
