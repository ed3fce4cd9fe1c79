"""Where a re-upload's server time goes: the CPU cost of each thing the server does with a 61 MB
multipart upload, measured in-process (no socket), so the machine's load hardly moves it.

- SHA-256 of the file in 1 MiB pieces (hashlib, OpenSSL);
- writing it to a temporary file (the page cache; what api/uploads.HashedUpload does);
- parsing the multipart body with werkzeug's MultiPartParser (the parser before this bench),
  with python-multipart's MultipartParser (api/uploads.py now) and, if installed, with
  streaming-form-data, each fed 1 MiB pieces; the file part's data goes nowhere;
- bytes.find of the boundary over the body: what any parser must do at least.

CPU milliseconds (time.process_time), median and min of ROUNDS runs.

    python bench/upload_parts_bench.py [--mb 61.3] [--rounds 7]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import statistics
import tempfile
import time

PIECE = 1 << 20
BOUNDARY = b"----slidecast-bench-7d1f0e"


def cpu_ms(fn, rounds: int) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        started = time.process_time()
        fn()
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times), min(times)


def pieces(data: bytes):
    view = memoryview(data)
    return (view[i:i + PIECE] for i in range(0, len(data), PIECE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=61.3)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    data = os.urandom(int(args.mb * 1e6))
    body = (b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="file"; filename="talk.mp4"\r\n'
            b"Content-Type: video/mp4\r\n\r\n" + data + b"\r\n--" + BOUNDARY + b"--\r\n")

    def sha256():
        digest = hashlib.sha256()
        for piece in pieces(data):
            digest.update(piece)

    def write():
        with tempfile.NamedTemporaryFile(prefix="slidecast-bench-") as out:
            for piece in pieces(data):
                out.write(piece)
            out.flush()

    def werkzeug():
        from werkzeug.formparser import MultiPartParser

        class Sink(io.RawIOBase):
            def write(self, piece):
                return len(piece)

            def seek(self, *where):
                return 0

        MultiPartParser(stream_factory=lambda *a, **k: Sink(), buffer_size=256 * 1024,
                        max_form_memory_size=500_000).parse(io.BufferedReader(io.BytesIO(body), PIECE), BOUNDARY,
                                                            len(body))

    def python_multipart():
        from python_multipart.multipart import MultipartParser

        parser = MultipartParser(BOUNDARY, {"on_part_data": lambda data, start, end: memoryview(data)[start:end]})
        for i in range(0, len(body), PIECE):
            parser.write(body[i:i + PIECE])

    def streaming_form_data():
        from streaming_form_data import StreamingFormDataParser
        from streaming_form_data.targets import NullTarget

        parser = StreamingFormDataParser(headers={"Content-Type": "multipart/form-data; boundary=" + BOUNDARY.decode()})
        parser.register("file", NullTarget())
        for i in range(0, len(body), PIECE):
            parser.data_received(body[i:i + PIECE])

    def find_boundary():
        mark = b"\r\n--" + BOUNDARY
        for i in range(0, len(body), PIECE):
            body.find(mark, i, i + PIECE + len(mark))

    steps = [("SHA-256 (hashlib)", sha256), ("write to a temporary file", write),
             ("parse: werkzeug MultiPartParser (before)", werkzeug),
             ("parse: python-multipart MultipartParser (now)", python_multipart),
             ("parse: streaming-form-data", streaming_form_data), ("bytes.find of the boundary only", find_boundary)]
    print(f"{len(data) / 1e6:.1f} MB file part; load average {os.getloadavg()[0]:.1f} (1 min), {os.cpu_count()} CPUs")
    print("| step | CPU ms median | min |\n|---|---|---|")
    for label, fn in steps:
        try:
            median, low = cpu_ms(fn, args.rounds)
        except ImportError as exc:
            print(f"| {label} | not installed ({exc.name}) | |")
            continue
        print(f"| {label} | {median:.1f} | {low:.1f} |", flush=True)


if __name__ == "__main__":
    main()
