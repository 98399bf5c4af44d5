"""Help that stays true: every command explains itself with a runnable example."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from xlapm.cli import main


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


COMMANDS = list(all_commands(main))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=lambda v: str(v))
def test_every_command_has_help_with_an_example(path, command):
    result = CliRunner().invoke(main, [*path, "--help"])

    assert result.exit_code == 0
    assert command.help, f"xlapm {' '.join(path)} has no help text"
    if not isinstance(command, click.Group):
        assert "Example:" in result.stdout
        assert f"xlapm {' '.join(path)}" in result.stdout


def test_main_help_lists_every_command():
    result = CliRunner().invoke(main, ["--help"])

    for name in main.commands:
        assert name in result.stdout


def test_unknown_command_is_a_usage_error_with_a_hint():
    result = CliRunner().invoke(main, ["bulid"])

    assert result.exit_code == 2
    assert "Try 'xlapm --help' for help." in result.stderr
    assert "No such command 'bulid'" in result.stderr
