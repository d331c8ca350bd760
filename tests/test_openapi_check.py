"""The emulator's OpenAPI check gives one verdict whichever validator reads a body: the compiled
one (jsonschema-rs) that checks every request, and jsonschema, which describes a refusal."""

import copy
import random

import pytest

from support import OPENAPI_PATH, step

pytestmark = pytest.mark.skipif(OPENAPI_PATH is None, reason="Discord's openapi.json is not beside the project (../shared)")


def _leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, path + (key,))
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from _leaves(value, path + (n,))
    if path:
        yield path


def _broken(body, rng: random.Random):
    """The body with one value anywhere in it replaced by one of a wrong type, null or too long."""
    body = copy.deepcopy(body)
    path = rng.choice(list(_leaves(body)))
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    old = parent[path[-1]]
    parent[path[-1]] = rng.choice([12345 if isinstance(old, str) else "x", None, "y" * 5000, -7, [old]])
    return body


async def test_both_validators_agree_on_the_bots_bodies_and_broken_ones(session):
    # The bodies the bot really sends: replies with embeds and buttons, a form, a deferral, a
    # follow-up, an edit, a message in a channel, the command set.
    await step(session, "@admin /config channel kind:queue channel:mod-queue")
    await step(session, "@admin /config moderator-role role:Moderators")
    for text in ("/about", "/quote topic:sleep", "click Another", "/study summary", "/study ask question:who led the study",
                 "/topics", "@member /share", "@member modal experience=Warm baths before bed help me sleep. anonymous=Yes",
                 "@moderator /mod queue", "@member /mydata"):
        await step(session, text)
    checker = session.emulator.openapi
    bodies = [(r.method, r.path, r.body) for r in session.emulator.requests if isinstance(r.body, (dict, list))]
    routes = {(m, p.split("/")[1]) for m, p, _ in bodies}
    assert len(bodies) >= 15 and {("POST", "interactions"), ("PUT", "applications")} <= routes

    rng = random.Random(7)
    checked = refused = 0
    for method, path, body in bodies:
        for candidate in [body] + [_broken(body, rng) for _ in range(8)]:
            _, as_checked, schema = checker.route_schema(method, path, candidate)
            if schema is None:
                continue
            fast = checker.fast_validator(schema).is_valid(as_checked)
            described = not any(True for _ in checker.validator(schema).iter_errors(as_checked))
            assert fast == described, (path, candidate)
            assert (checker.check(method, path, candidate) == []) == fast
            checked += 1
            refused += not fast
    # Enough of both verdicts that a validator which passed or refused everything would fail.
    assert checked >= 100 and refused >= checked // 3 and checked - refused >= len(bodies) // 2


def test_a_refusal_names_where_and_why(tmp_path):
    from emulator.openapi import OpenAPIChecker

    checker = OpenAPIChecker(OPENAPI_PATH)
    body = {"type": 4, "data": {"content": "hi", "embeds": [{"title": 5}]}}
    problems = checker.check("POST", "/interactions/1/itoken-1/callback", body)
    assert problems and "embeds/0/title" in problems[0]
    assert checker.check("POST", "/interactions/1/itoken-1/callback", {"type": 4, "data": {"content": "hi"}}) == []
