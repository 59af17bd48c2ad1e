"""A synthetic camera: ffmpeg's test pattern as a live HLS stream on loopback, the source the relay pulls."""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def synthetic_camera(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("ffmpeg") is None:
        pytest.fail("未安装 ffmpeg（scripts/setup 会安装）：视频转发测试需要它")
    folder: Path = tmp_path_factory.mktemp("camera")
    producer = subprocess.Popen(
        [
            "ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10",
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-g", "10",
            "-f", "hls", "-hls_time", "1", "-hls_list_size", "6", "-hls_flags", "delete_segments",
            str(folder / "index.m3u8"),
        ],
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    handler = functools.partial(_Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not (folder / "index.m3u8").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    yield f"http://127.0.0.1:{httpd.server_address[1]}/index.m3u8"
    httpd.shutdown()
    producer.terminate()
    producer.wait(10)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass
