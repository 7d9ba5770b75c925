"""A minimal authoritative DNS responder for tests: answers every A query
with the address given on the command line (one UDP socket, no deps)."""
import socket
import struct
import sys


def answer(query, addr):
    (qid, flags, qd, _an, _ns, _ar) = struct.unpack("!6H", query[:12])
    i = 12
    while query[i] != 0:
        i += 1 + query[i]
    question = query[12:i + 5]
    header = struct.pack("!6H", qid, 0x8180 | (flags & 0x0100), 1, 1, 0, 0)
    rr = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(addr)
    return header + question + rr


def main():
    bind, port, addr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((bind, port))
    print("ready", flush=True)
    while True:
        data, peer = s.recvfrom(2048)
        try:
            s.sendto(answer(data, addr), peer)
        except (IndexError, struct.error):
            pass


if __name__ == "__main__":
    main()
