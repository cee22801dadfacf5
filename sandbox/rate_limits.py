"""The ledgers' rate limits, applied per company as the real APIs apply them, with a time-scale factor.

    QBO   500 calls per minute, 10 per second, 10 concurrent      (ledgers.md §1.1)
          and 40 batch calls per minute (system "qbo-batch", counted on top of "qbo")
    Xero   60 calls per minute, 5000 per day, 5 concurrent         (ledgers.md §2.1)

``time_scale`` shrinks the windows: at 60 a "minute" lasts one second and a "day" 24 minutes, so a
benchmark can meet the minute limit quickly. Off until enabled (``POST /_sandbox/limits``
``{"enabled": true, "time_scale": 60}`` or ``closeout sandbox --rate-limits``), because most tests want
the API without the limits. Kept in memory: each sandbox process counts its own calls.
"""

from __future__ import annotations

import math
import threading
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

WINDOWS = {  # system → ((problem name, seconds, calls), ...), checked in this order
    "qbo": (("second", 1.0, 10), ("minute", 60.0, 500)),
    "xero": (("minute", 60.0, 60), ("day", 86_400.0, 5_000)),
    "qbo-batch": (("batch-minute", 60.0, 40),),  # on top of "qbo": QBO throttles the batch endpoint at 40/min
}
CONCURRENT = {"qbo": 10, "xero": 5, "qbo-batch": 10}


@dataclass(frozen=True)
class Refusal:
    problem: str  # minute | day | second | concurrent
    retry_after: int  # whole seconds, at least 1, in real time


@dataclass(frozen=True)
class Remaining:
    minute: int
    day: int | None


class RateLimits:
    def __init__(self, *, enabled: bool = False, time_scale: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._calls: dict[tuple[str, str], list[float]] = defaultdict(list)
        self._in_flight: dict[tuple[str, str], int] = defaultdict(int)
        self._clock = clock
        # what was received while enabled, for tests that check the limits were never exceeded (see ``counts``)
        self.accepted: dict[tuple[str, str], int] = defaultdict(int)
        self.refused: dict[tuple[str, str, str], int] = defaultdict(int)
        self.peak_in_flight: dict[tuple[str, str], int] = defaultdict(int)
        self.configure(enabled=enabled, time_scale=time_scale)

    def configure(self, *, enabled: bool, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        with self._lock:
            self.enabled, self.time_scale = enabled, time_scale
            self._calls.clear()
            for counter in (self.accepted, self.refused, self.peak_in_flight):
                counter.clear()

    def acquire(self, system: str, company: str) -> Refusal | None:
        """Count one call, or say which limit refuses it and after how long; pair a success with ``release``."""
        if not self.enabled:
            return None
        key, now = (system, company), self._clock()
        with self._lock:
            if self._in_flight[key] >= CONCURRENT[system]:
                self.refused[(system, company, "concurrent")] += 1
                return Refusal("concurrent", 1)
            calls = self._calls[key]  # call times, ascending
            longest = max(seconds for _, seconds, _ in WINDOWS[system]) / self.time_scale
            del calls[:bisect_right(calls, now - longest)]
            for problem, seconds, limit in WINDOWS[system]:
                window = seconds / self.time_scale
                recent = len(calls) - bisect_right(calls, now - window)
                if recent >= limit:
                    wait = calls[-limit] + window - now
                    self.refused[(system, company, problem)] += 1
                    return Refusal(problem, max(1, math.ceil(wait)))
            calls.append(now)
            self._in_flight[key] += 1
            self.accepted[key] += 1
            self.peak_in_flight[key] = max(self.peak_in_flight[key], self._in_flight[key])
            return None

    def counts(self) -> dict[str, list[dict]]:
        """Calls accepted and refused (by limit) and the most in flight at once, per system and company."""
        with self._lock:
            return {
                "accepted": [{"system": s, "company": c, "calls": n, "peak_in_flight": self.peak_in_flight[(s, c)]}
                             for (s, c), n in sorted(self.accepted.items())],
                "refused": [{"system": s, "company": c, "problem": p, "calls": n}
                            for (s, c, p), n in sorted(self.refused.items())],
            }

    def release(self, system: str, company: str) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._in_flight[(system, company)] = max(0, self._in_flight[(system, company)] - 1)

    def remaining(self, system: str, company: str) -> Remaining:
        """What Xero reports in X-MinLimit-Remaining / X-DayLimit-Remaining."""
        now = self._clock()
        with self._lock:
            calls = list(self._calls[(system, company)])
        counts = {problem: limit - sum(1 for t in calls if t > now - seconds / self.time_scale)
                  for problem, seconds, limit in WINDOWS[system]}
        return Remaining(minute=max(0, counts["minute"]), day=max(0, counts["day"]) if "day" in counts else None)
