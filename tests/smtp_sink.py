"""A local SMTP server for the tests: accepts every message and writes it, as received,
to a folder (one .eml file each, renamed into place once complete).

    python3 tests/smtp_sink.py FOLDER [PORT]

Listens on PORT, or on a port the system picks (no race with other tests), prints
"ready PORT" once it listens, and stops when its standard input closes (its parent died).
"""
import asyncio
import os
import sys
import threading
import time

from aiosmtpd.smtp import SMTP


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
    folder = sys.argv[1]
    wanted = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    os.makedirs(folder, exist_ok=True)
    handler = ToFolder(folder)
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        loop.create_server(lambda: SMTP(handler, hostname="wharf-test-sink"), host="127.0.0.1", port=wanted)
    )
    port = server.sockets[0].getsockname()[1]
    threading.Thread(target=loop.run_forever, daemon=True).start()
    print("ready %d" % port, flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
