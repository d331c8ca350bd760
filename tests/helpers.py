"""Helpers for end-to-end tests that drive the real bot through the emulator."""

from __future__ import annotations

from emulator.session import BotSession, StepResult


async def step(session: BotSession, text: str, **kwargs) -> StepResult:
    """Run a step that must succeed: answered, no rule or OpenAPI violation, no ERROR logged."""
    result = await session.run(text, **kwargs)
    assert result.problem is None, result.problem
    assert result.answered, f"{text!r} got no answer"
    assert result.violations == [], f"{text!r} broke rules: {result.violations}"
    assert result.errors == [], f"{text!r} logged errors: {result.errors}"
    return result


def is_ephemeral(result: StepResult) -> bool:
    """Whether the first response of the step was private to the member."""
    for req in result.requests:
        if req.path.endswith("/callback"):
            data = (req.body or {}).get("data") or {}
            return bool(int(data.get("flags") or 0) & 64)
    return False
