"""Governance lives in git, and git is the audit trail: `govkit history` (who changed what, as a
semantic diff), `govkit diff` (a change gated on its approvals and fresh evals), `govkit whois
--at` and the policy revision of a decision. This floor imports `playbook.core` (which reads git)
and `playbook.policy` (to load the organisation as it was); the handbook and the CLI use it."""
