"""moto's EventBridge pattern matcher, timed: reads {"rules": [[name, pattern], ...], "events":
[...], "seconds": S} on stdin, matches events (cycling through them) against every rule, as
moto's put_events does, for about S seconds, and prints {"events_per_second": ..., "matches":
[rules matched by each event it got through, in order]}. Run by `lambda-stream-bench patterns`."""

import json
import sys
import time

from moto.events.models import EventPattern


def main():
    job = json.load(sys.stdin)
    rules = [(name, EventPattern.load(json.dumps(pattern))) for name, pattern in job["rules"]]
    events = job["events"]
    budget = float(job["seconds"])
    matches = []
    done = 0
    start = time.perf_counter()
    while True:
        event = events[done % len(events)]
        matched = sum(1 for _, pattern in rules if pattern.matches_event(event))
        if done < len(events):
            matches.append(matched)
        done += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget and done >= 10:
            break
    json.dump({"events_per_second": done / elapsed, "matches": matches}, sys.stdout)


if __name__ == "__main__":
    main()
