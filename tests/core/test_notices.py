"""Notifications on their own (ibmon.notices): several at once make one toast, repeats are counted,
the toast stays as long as its longest-lived notification, and the list is bounded, newest first."""

from __future__ import annotations

from ibmon.notices import RECENT_LIMIT, TOAST_LINES, Notice, NoticeLog


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def log_with_clock() -> tuple[NoticeLog, Clock]:
    clock = Clock()
    return NoticeLog(clock=clock), clock


def notice(clock: Clock, message: str, title: str = "CRM", severity: str = "information",
           timeout: float = 5.0) -> Notice:
    return Notice(clock.now, title, message, severity, timeout)


def test_one_notification_is_its_own_toast():
    log, clock = log_with_clock()
    log.add(notice(clock, "2 new leads"))
    toast = log.toast()
    assert (toast.title, toast.message, toast.severity, toast.timeout) == ("CRM", "2 new leads", "information", 5.0)


def test_notifications_while_the_toast_is_up_join_it_and_repeats_are_counted():
    log, clock = log_with_clock()
    log.add(notice(clock, "2 new leads"))
    clock.now += 1
    log.add(notice(clock, "1 new lead", title="CRM EU"))
    log.add(notice(clock, "2 new leads"))
    log.add(notice(clock, "login refused", title="XTB", severity="error", timeout=20))
    toast = log.toast()
    assert toast.title == "4 notifications" and toast.severity == "error"
    assert toast.message.split("\n") == ["CRM EU: 1 new lead", "CRM: 2 new leads ×2", "XTB: login refused"]
    assert toast.timeout == 20  # as long as the longest-lived one asked


def test_after_the_toast_went_the_next_notification_starts_a_new_one():
    log, clock = log_with_clock()
    log.add(notice(clock, "first"))
    clock.now += 5
    assert log.toast() is None
    log.add(notice(clock, "second"))
    assert log.toast().message == "second"


def test_a_toast_holding_many_shows_the_newest_and_says_how_many_more():
    log, clock = log_with_clock()
    for n in range(TOAST_LINES + 3):
        log.add(notice(clock, f"message {n}"))
    lines = log.toast().message.split("\n")
    assert lines[0] == "… 3 more in the notifications list"
    assert lines[1:] == [f"CRM: message {n}" for n in range(3, TOAST_LINES + 3)]


def test_the_list_keeps_the_newest_and_is_bounded():
    log, clock = log_with_clock()
    for n in range(RECENT_LIMIT + 50):
        clock.now += 1
        log.add(notice(clock, f"message {n}"))
    recent = list(log.recent)
    assert len(recent) == RECENT_LIMIT
    assert recent[0].message == f"message {RECENT_LIMIT + 49}" and recent[-1].message == "message 50"
    assert [n.at for n in recent] == sorted((n.at for n in recent), reverse=True)
