#!/usr/bin/env python3
"""Shares of a CPU profile's samples (async-profiler's collapsed stacks, recorded with `threads`):
per thread group, per kind of work found anywhere in a stack, and per kind within each thread group
(which thread pays for a hand-off: the handler pool's parking, the I/O thread's wake-ups). Used by
profile.sh.

    profile-summary.py FILE.collapsed[.gz]
"""
import gzip
import re
import sys

# A stack counts for the first group whose pattern its thread name matches.
THREADS = [
    ("I/O threads", r"I/O-\d"),
    ("handler pool", r"tether-handler|handler"),
    ("socket closer", r"tether-socket-closer"),
    ("timer", r"tether-timer|timer"),
    ("GC", r"GC Thread|G1 |VM Thread|ParGC|Gang worker"),
    ("JIT compiler", r"C1 CompilerThread|C2 CompilerThread"),
]
# A stack counts for every kind whose pattern one of its frames matches.
KINDS = [
    ("kernel (any frame _[k])", r"_\[k\]"),
    ("socket write (ksys_write, loopback delivery included)", r"ksys_write|__sys_sendto|do_writev"),
    ("socket read (ksys_read)", r"ksys_read|__sys_recvfrom|do_readv"),
    ("epoll_wait", r"__x64_sys_epoll_wait|do_epoll_wait"),
    ("socket close", r"__x64_sys_close|__fput|tcp_close"),
    ("waking a thread (try_to_wake_up)", r"try_to_wake_up"),
    ("futex (park/unpark)", r"__x64_sys_futex"),
    ("context switch (schedule)", r"__schedule|schedule_hrtimeout|finish_task_switch"),
    ("selector wake-up (eventfd write)", r"Java_sun_nio_ch_EventFD_set0|IOUtil_write1"),
    ("thread park/unpark (Unsafe)", r"Unsafe_Park|Unsafe_Unpark"),
    ("Tether engine (dev/tether/core)", r"dev/tether/core|dev\.tether\.core"),
    ("Tether transport (dev/tether/undertow)", r"dev/tether/undertow|dev\.tether\.undertow"),
    ("JSON (jackson)", r"com/fasterxml|com\.fasterxml"),
    ("XNIO", r"org/xnio|org\.xnio"),
]


def main(path):
    total = 0
    by_thread = {}
    by_kind = {k: 0 for k, _ in KINDS}
    by_group_kind = {}
    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = stack.split(";")
            thread = frames[0]
            group = next((g for g, p in THREADS if re.search(p, thread)), "other")
            by_thread[group] = by_thread.get(group, 0) + n
            for kind, pattern in KINDS:
                if re.search(pattern, stack):
                    by_kind[kind] += n
                    by_group_kind[(group, kind)] = by_group_kind.get((group, kind), 0) + n
    if total == 0:
        print("no samples")
        return
    print(f"{total:,} samples")
    print("per thread group:")
    for group, n in sorted(by_thread.items(), key=lambda e: -e[1]):
        print(f"  {group:45s} {100 * n / total:5.1f} %")
    print("per kind of work (a sample may count for several):")
    for kind, _ in KINDS:
        print(f"  {kind:45s} {100 * by_kind[kind] / total:5.1f} %")
    print("per thread group and kind (of all samples; 0.5 % and more):")
    for group, _ in sorted(by_thread.items(), key=lambda e: -e[1]):
        for kind, _ in KINDS:
            share = 100 * by_group_kind.get((group, kind), 0) / total
            if share >= 0.5:
                print(f"  {group:15s} {kind:45s} {share:5.1f} %")


if __name__ == "__main__":
    main(sys.argv[1])
