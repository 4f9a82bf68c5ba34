"""The command palette lists core and plugin commands and runs them; a failing command is reported."""

from __future__ import annotations

from textual.command import CommandList, CommandPalette

from ibmon.app import IbmonApp

from ui_support import CONNECTION, add_example, load_host, make_runtime, notifications, until

PLUGIN = '''
from ibmon import hookimpl
from ibmon.api import Command


async def hello(app):
    app.notify("hello from the palette plugin")


def boom(app):
    raise RuntimeError("the command broke")


@hookimpl
def ibmon_commands(register):
    register(Command(title="Say hello", run=hello, help="a plugin command"))
    register(Command(title="Explode", run=boom))
'''


def palette_prompts(app) -> list[str]:
    command_list = app.screen.query_one(CommandList)
    return [str(command_list.get_option_at_index(i).prompt) for i in range(command_list.option_count)]


async def search(pilot, app, text: str) -> list[str]:
    await pilot.press("ctrl+p")
    await until(pilot, lambda: CommandPalette.is_open(app))
    await pilot.press(*text)
    await until(pilot, lambda: app.screen.query_one(CommandList).option_count > 0)
    await pilot.pause(0.1)
    return palette_prompts(app)


async def test_palette_lists_core_and_plugin_commands_and_runs_one(tmp_path, quiet_simulator):
    (tmp_path / "palette_plugin.py").write_text(PLUGIN)
    host = load_host(extra_dirs=(tmp_path,))
    runtime = make_runtime()
    add_example(runtime, host, quiet_simulator)
    app = IbmonApp(runtime, host)
    async with app.run_test(size=(120, 36)) as pilot:
        titles = [title for title, _help, _run in app.palette_commands()]
        for expected in ("Refresh all connections", f"Refresh {CONNECTION}", "Switch theme: ibmon-light",
                         "Show plugin failures", "Quit", "Say hello", "Explode"):
            assert expected in titles

        prompts = await search(pilot, app, "say")
        assert any("Say hello" in p for p in prompts)
        await pilot.press("enter")
        await until(pilot, lambda: any("hello from the palette plugin" in n for n in notifications(app)))

        await until(pilot, lambda: not CommandPalette.is_open(app))
        prompts = await search(pilot, app, "all")
        assert any("Refresh all connections" in p for p in prompts)
        await pilot.press("enter")
        await until(pilot, lambda: any("Refreshing all connections" in n for n in notifications(app)))


async def test_a_failing_plugin_command_is_a_notification_not_a_crash(tmp_path):
    (tmp_path / "palette_plugin.py").write_text(PLUGIN)
    app = IbmonApp(make_runtime(), load_host(extra_dirs=(tmp_path,)))
    async with app.run_test(size=(120, 36)) as pilot:
        run = next(run for title, _help, run in app.palette_commands() if title == "Explode")
        run()
        await until(pilot, lambda: any("Explode failed: RuntimeError: the command broke" in n
                                       for n in notifications(app)))
        assert app.is_running
