"""Messages for bad references: the closest choice suggested, the choices listed but bounded."""

from __future__ import annotations

from playbook.core.errors import MAX_LISTED, unknown_choice


def test_a_short_list_of_choices_is_given_in_full():
    assert (
        unknown_choice("tier", 7, [0, 1, 2]) == "unknown tier 7. Expected one of '0', '1' or '2'."
    )


def test_a_thousand_choices_are_counted_not_listed():
    agents = [f"agent-{number:04d}" for number in range(1000)]
    message = unknown_choice("agent", "agent-0007x", agents)
    assert "Did you mean 'agent-0007'" in message
    assert message.endswith(", ... (1000 in all).")
    assert message.count("'agent-") <= MAX_LISTED + 3  # the listed ones and the suggestions
