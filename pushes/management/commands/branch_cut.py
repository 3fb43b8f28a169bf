"""`branch_cut`: the same command as `cut_branch`, under the service's name."""

from __future__ import annotations

from pushes.management.commands.cut_branch import Command as CutBranch


class Command(CutBranch):
    pass
