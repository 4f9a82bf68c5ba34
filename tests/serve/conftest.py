import pytest


class Clock:
    """A monotonic clock the test moves by hand (idle timeouts, the failed-login window)."""

    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()
