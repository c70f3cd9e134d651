"""``dynamigrate completion bash|zsh|tcsh``: print a shell completion script (made by shtab)."""

from __future__ import annotations

import argparse
from typing import Any

SHELLS = ("bash", "zsh", "tcsh")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or tcsh)",
        description=(
            "Print the completion script of dynamigrate's commands and flags for a shell. "
            'bash: eval "$(dynamigrate completion bash)" in ~/.bashrc; '
            "zsh: dynamigrate completion zsh > ~/.zfunc/_dynamigrate (a directory on $fpath)."
        ),
    )
    p.add_argument("shell", choices=SHELLS, help="the shell")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import shtab

    from dynamigrate.cli import build_parser

    print(shtab.complete(build_parser(), shell=args.shell))
    return 0
