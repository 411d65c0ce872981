"""moto's EventBridge pattern matcher as a filter: reads JSON lines {"pattern": ..., "event": ...}
from stdin and writes one line per case: "1" (matches), "0" (does not) or "error: ..." (moto
refused the pattern). Used by the differential test (tests/differential.rs) and the benchmark."""

import json
import sys

from moto.events.models import EventPattern


def main():
    out = []
    for line in sys.stdin:
        case = json.loads(line)
        try:
            pattern = EventPattern.load(json.dumps(case["pattern"]))
            out.append("1" if pattern.matches_event(case["event"]) else "0")
        except Exception as error:  # moto's parser raises its own exception types
            out.append("error: " + str(error).replace("\n", " "))
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))


if __name__ == "__main__":
    main()
