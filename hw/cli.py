"""Subcommands of the hw area (filled in by its issue)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this area's subcommands to the ``qmac`` parser."""
