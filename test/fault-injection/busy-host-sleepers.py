"""Forks the busy host's sleepers: python3 busy-host-sleepers.py <count> <life-s> <file>...

Each sleeper holds every file open and sleeps at most <life-s> seconds. Forking here takes a
millisecond a process, where spawning each from Node takes tens on a loaded machine. The
caller started this process as a group leader and ends every sleeper with one kill of the group.
"""
import os
import sys
import time

count, life = int(sys.argv[1]), float(sys.argv[2])
held = [open(path, "rb") for path in sys.argv[3:]]
for _ in range(count):
    if os.fork() == 0:
        time.sleep(life)
        os._exit(0)
print(f"ready {count}", flush=True)
# The parent waits too, so that the group lives until it is killed or the sleepers are done.
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
