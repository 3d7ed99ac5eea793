"""A local SMTP server for the tests: accepts every message and writes it, as received,
to a folder (one .eml file each, renamed into place once complete).

    python3 tests/smtp_sink.py PORT FOLDER

Prints "ready" once it listens; stops when its standard input closes (its parent died).
"""
import os
import sys
import time

from aiosmtpd.controller import Controller


class ToFolder:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = "%d-%04d.eml" % (time.time_ns(), self.count)
        tmp = os.path.join(self.folder, "." + name)
        with open(tmp, "wb") as f:
            data = envelope.original_content or envelope.content
            if isinstance(data, str):
                data = data.encode("utf-8")
            f.write(data)
        os.rename(tmp, os.path.join(self.folder, name))
        return "250 Message accepted"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    controller = Controller(ToFolder(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
