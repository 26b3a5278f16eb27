"""Which version of a policy file decides: its git blob id and the commit that last changed it.

Looked up once when a policy is loaded for deciding (git is read, never written), so that every
decision and every decision-log record names the policy's version without asking git again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playbook.core.clock import iso
from playbook.core.errors import UsageError
from playbook.core.git import Repo, blob_id


@dataclass(frozen=True)
class Revision:
    blob: str  # the git blob id of the file's bytes: names the content, in git or not
    commit: str | None  # the last commit that changed it, when the file is as that commit left it
    committed_at: str | None

    @property
    def source(self) -> dict[str, str | None]:
        """`policy_source` of a decision: `{blob, committed_at}`."""
        return {"blob": self.blob, "committed_at": self.committed_at}

    def to_json(self) -> dict[str, str | None]:
        return {"blob": self.blob, "commit": self.commit, "committed_at": self.committed_at}


def revision_of(path: Path) -> Revision:
    """The revision of the file at `path`: None for the commit when the file is not in git, git is
    missing, nothing is committed yet, or the file differs from what HEAD holds."""
    data = path.read_bytes()
    uncommitted = Revision(blob_id(data), None, None)
    try:
        repo = Repo.around(path.parent)
        relative = repo.relative(path)
        committed = repo.tree("HEAD", relative).get(relative)
        if committed is None or committed != blob_id(data, length=len(committed)):
            return uncommitted
        commit = repo.log(["HEAD"], [relative], options=["--max-count=1"])
    except UsageError:
        return uncommitted
    if not commit:
        return Revision(committed, None, None)
    return Revision(committed, commit[0].sha, iso(commit[0].committed_at))
