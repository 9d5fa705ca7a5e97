"""Run by tests/test_load.py in a child process: importing locust monkey-patches the standard
library through gevent, which must not happen inside the pytest process.

Plays AircoreCallbacksUser through Locust's library API (an in-process Environment) against
in-process receivers, and prints what each side counted as one JSON document.
"""

from __future__ import annotations

import json
import sys
import time

import gevent
from locust.env import Environment

from aircore_mock import Receiver
from aircore_mock.load.users import AircoreCallbacksUser, summary


class Failing(AircoreCallbacksUser):
    scenario = "upload-failed+duplicate"
    seed = 42
    count = 5


def play(user_class: type[AircoreCallbacksUser], users: int, status: int) -> dict[str, object]:
    with Receiver(status=status) as receiver:
        user_class.host = receiver.url
        environment = Environment(user_classes=[user_class])
        runner = environment.create_local_runner()
        runner.start(users, spawn_rate=users)
        # every user stops by itself after `count` recordings; bounded, never a fixed sleep
        deadline = time.monotonic() + 60
        gevent.sleep(0.05)
        while runner.user_count and time.monotonic() < deadline:
            gevent.sleep(0.02)
        runner.quit()
        return {
            "summary": summary(environment).to_json(),
            "receiver": receiver.summary().to_json(),
            "callbacks": sorted(json.dumps(c, sort_keys=True) for c in receiver.callbacks),
            "stats_requests": environment.stats.total.num_requests,
            "stats_failures": environment.stats.total.num_failures,
        }


if __name__ == "__main__":
    users = int(sys.argv[1])
    runs = [play(Failing, users, 204), play(Failing, users, 204), play(Failing, users, 500)]
    print(json.dumps(runs))
