"""What the checkers of the rules tests share (check_state_machine.py,
check_chain.py, check_group.py): reading the actions a test produced, and
the "not there yet" exit a polling test waits on."""
import json
import sys


def load_actions(path):
    """The actions of a JSON-lines file, by id."""
    actions = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                a = json.loads(line)
                actions[a["id"]] = a
    return actions


def incomplete(msg, wait):
    """What is missing may still come: exit 3 when the caller polls (--wait:
    lib.sh's wait_for tries again), else fail saying what is missing."""
    if wait:
        sys.exit(3)
    sys.exit("incomplete: " + msg)
