"""Every `--help` states the default of every option that has one."""

from __future__ import annotations

import argparse

import pytest

from crawler.cli.main import build_parser
from replica.server import build_parser as replica_parser


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: p for name, p in sub.choices.items() if name != "replica"}


def _options_with_defaults(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        action
        for action in parser._actions
        if action.option_strings
        and action.default not in (None, False, argparse.SUPPRESS)
        and action.dest not in ("help", "command_parser", "func")
    ]


@pytest.mark.parametrize("name", sorted(_commands()))
def test_help_states_every_default(name: str) -> None:
    parser = _commands()[name]
    for action in _options_with_defaults(parser):
        text = parser.format_help()
        help_text = action.help or ""
        assert "default" in help_text, f"`uir-news {name} --help`: {action.option_strings}"
        assert text  # the help renders


def test_replica_help_names_its_command_and_defaults() -> None:
    parser = replica_parser("uir-news replica")
    text = parser.format_help()
    assert text.startswith("usage: uir-news replica")
    for action in _options_with_defaults(parser):
        assert f"--{action.dest.replace('_', '-')}" in text
    assert "(default: 230)" in text and "(default: 8000)" in text
