"""What Discord sends back when a form is submitted: every component with its `id` (numbered by
Discord when the bot gave none), the text displays echoed with their id, and the message whose
button opened the form."""

from emulator.server import PERSONAS
from support import ready_server, share, step


async def test_a_submitted_form_names_every_component_by_id_and_echoes_its_text_displays(session):
    opened = await step(session, "@member /share")
    sent = opened.requests[0].body["data"]
    assert all("id" not in c for c in sent["components"]), "the bot numbers none: Discord does"
    payload = session._modal_payload("experience=Cold weather makes my hands ache badly. anonymous=No",
                                     PERSONAS["member"])
    submitted = payload["data"]["components"]
    assert [c["type"] for c in submitted] == [10, 18, 18, 18]
    # Component Reference > Radio Group Interaction Response: the chosen option's value.
    assert submitted[3]["component"] == {"type": 21, "id": submitted[3]["component"]["id"], "custom_id": "anonymous",
                                         "value": "named"}
    assert submitted[0] == {"type": 10, "id": 1}  # a text display comes back with its id alone
    ids = [c["id"] for c in submitted] + [c["component"]["id"] for c in submitted[1:]]
    assert len(set(ids)) == len(ids) and all(isinstance(i, int) for i in ids)
    assert submitted[1]["component"]["custom_id"] == "experience"
    assert "message" not in payload  # a slash command opened it
    thanked = await session.run_payload(payload)
    assert thanked.answered and thanked.errors == [] and "Thank you for sharing" in thanked.text()


async def test_a_form_opened_by_a_button_comes_back_with_that_message(session):
    await ready_server(session)
    await share(session, "My hands ache every cold morning this winter.")
    await step(session, "@moderator click Reject")
    queue_message = next(m for m in reversed(session.emulator.messages.values())
                         if any(c.get("label") == "Reject" for row in m.get("components") or []
                                for c in row.get("components") or []))
    payload = session._modal_payload("reason=Please leave out the names.", PERSONAS["moderator"])
    assert payload["message"]["id"] == queue_message["id"]
    rejected = await session.run_payload(payload)
    assert rejected.answered and rejected.errors == [] and rejected.violations == []
