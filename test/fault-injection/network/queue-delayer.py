"""Holds a network namespace's queued packets for a delay, then lets them go.

    queue-delayer.py <queue-number> <delay-ms> <jitter-ms>

For kernels without sch_netem: an iptables NFQUEUE rule hands each outgoing packet of the
namespace to queue <queue-number>; this program (run inside the same namespace, stdlib only)
binds that queue through nfnetlink_queue and accepts each packet after delay +/- jitter ms
(uniform, as netem's jitter; packets may be reordered, as with netem). The kernel keeps the
packet meanwhile: the delay is on the wire, seen by TCP's own timers.

Prints "ready" once it holds the queue. Ends, releasing every held packet first, on SIGTERM
or when its stdin closes (the process that started it is gone), so that none outlives its run.
"""
import errno
import heapq
import os
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQNL_CFG_CMD_BIND = 1
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQNL_COPY_META = 1
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NF_ACCEPT = 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
# Held packets count against the queue's length; past it the kernel drops, so it is long.
QUEUE_MAXLEN = 16384


def attr(kind, payload):
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def message(kind, queue, attrs, flags=NLM_F_REQUEST):
    body = struct.pack("!BBH", socket.AF_UNSPEC, 0, queue) + b"".join(attrs)
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, 0, 0) + body


def configure(sock, queue):
    """Binds the queue, asking for metadata only, and waits for the kernel's answer to each."""
    for attrs in (
        [attr(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_BIND, socket.AF_INET))],
        [attr(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META))],
        [attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", QUEUE_MAXLEN))],
    ):
        sock.send(message(NFQNL_MSG_CONFIG, queue, attrs, NLM_F_REQUEST | NLM_F_ACK))
        data = sock.recv(65536)
        length, kind = struct.unpack_from("=IH", data)
        if kind == NLMSG_ERROR:
            (error,) = struct.unpack_from("=i", data, 16)
            if error:
                raise OSError(-error, f"nfnetlink_queue refused the configuration of queue {queue}: {os.strerror(-error)}")


def packet_ids(data):
    """The IDs of the packets in one datagram of the kernel's (several messages may share it)."""
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if length < 16:
            break
        if kind & 0xFF == NFQNL_MSG_PACKET and kind >> 8 == NFNL_SUBSYS_QUEUE:
            at = offset + 20
            while at + 4 <= offset + length:
                alen, akind = struct.unpack_from("=HH", data, at)
                if alen < 4:
                    break
                if akind & 0x7FFF == NFQA_PACKET_HDR:
                    yield struct.unpack_from("!I", data, at + 4)[0]
                at += (alen + 3) & ~3
        offset += (length + 3) & ~3


def main():
    queue, delay_ms, jitter_ms = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind((0, 0))
    configure(sock, queue)
    # A signal wakes the poll through this pipe (poll itself is resumed after a handler).
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGTERM, lambda *_: None)
    held = []  # (due, packet id)

    def accept(packet_id):
        sock.send(message(NFQNL_MSG_VERDICT, queue, [attr(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, packet_id))]))

    print("ready", flush=True)
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    poller.register(sys.stdin, select.POLLIN | select.POLLHUP)
    poller.register(wake_r, select.POLLIN)
    stopping = False
    while not stopping:
        wait = max(0, held[0][0] - time.monotonic()) * 1000 if held else None
        for fd, _ in poller.poll(wait):
            if fd == sock.fileno():
                now = time.monotonic()
                try:
                    data = sock.recv(1 << 20)
                except OSError as err:
                    # Messages the socket had no room for: their packets were dropped, as a
                    # full netem queue drops. The delayer goes on.
                    if err.errno != errno.ENOBUFS:
                        raise
                    continue
                for packet_id in packet_ids(data):
                    ms = max(0.0, delay_ms + random.uniform(-jitter_ms, jitter_ms))
                    heapq.heappush(held, (now + ms / 1000, packet_id))
            elif fd == wake_r or not os.read(fd, 4096):
                stopping = True
        now = time.monotonic()
        while held and held[0][0] <= now:
            accept(heapq.heappop(held)[1])
    # Closing the socket would drop what is held: each goes now, as a healed link sends it.
    while held:
        accept(heapq.heappop(held)[1])


if __name__ == "__main__":
    main()
