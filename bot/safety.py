"""Safety wording and detectors for a health support community (see the README's Safety section)."""

# Shown under every summary, answer and quote.
NOT_MEDICAL_ADVICE = "Not medical advice: talk to your doctor before changing any treatment."

# One short, kind message with one or two resources helps more than a long list of hotlines.
# Servers outside the US replace this with `/config crisis-resources`.
DEFAULT_CRISIS_RESOURCES = (
    "US: call or text 988 (Suicide & Crisis Lifeline), or text DISCORD to 741741 (Crisis Text Line). "
    "Elsewhere: call your local emergency number."
)
