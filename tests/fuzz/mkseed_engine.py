#!/usr/bin/python3
"""Make fuzz_engine seeds from real captures: the first packets of each
Ethernet pcap, link header stripped, in fuzz_engine's framing
([u16 len][u8 step of 10 ms][IP packet]).  Usage: mkseed_engine.py OUT PCAP..."""
import struct
import sys


def packets(path, limit=120):
    data = open(path, "rb").read()
    magic = data[:4]
    end = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    if struct.unpack(end + "I", data[20:24])[0] != 1:
        return
    off, last = 24, None
    while off + 16 <= len(data) and limit > 0:
        sec, usec, cap, _ = struct.unpack(end + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + cap]
        off += 16 + cap
        if len(frame) < 34 or frame[12:14] != b"\x08\x00":
            continue
        t = sec + usec / 1e6
        step = 0 if last is None else min(255, max(0, int((t - last) * 100)))
        last = t
        limit -= 1
        yield step, frame[14:]


def main():
    out = sys.argv[1]
    for path in sys.argv[2:]:
        blob = b"".join(struct.pack(">HB", len(p), s) + p
                        for s, p in packets(path))
        if blob:
            name = path.rsplit("/", 1)[-1].replace(".pcap", "")
            with open(f"{out}/{name}", "wb") as f:
                f.write(b"\x01" + blob)


if __name__ == "__main__":
    main()
