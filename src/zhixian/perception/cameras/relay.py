"""HLS relay for counties without a media server: ffmpeg re-muxes a camera's RTSP or HLS stream into HLS
files under ``<data_dir>/hls/<camera id>/``, which the platform serves behind the play-token check.

One ffmpeg per watched camera, started on the first authorised request and stopped when nobody has
fetched from it for ``idle_seconds``. ffmpeg only copies the video (no transcoding: two cores serve many
viewers), and its protocol whitelist keeps a camera's source address from reaching local files.
"""

from __future__ import annotations

import atexit
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from zhixian.errors import Conflict, Invalid

SOURCE = re.compile(r"^(rtsps?|https?)://[^\s]{3,480}$")
SEGMENT = re.compile(r"^seg\d{5}\.ts$")


def check_source(url: str) -> str:
    if not SOURCE.match(url):
        raise Invalid("视频源地址须为 rtsp://、rtsps://、http:// 或 https://（HLS）地址", field="source_url")
    return url


@dataclass
class _Running:
    process: subprocess.Popen[bytes]
    last_used: float
    folder: Path


@dataclass
class Relay:
    data_dir: Path
    idle_seconds: float = 60.0
    ffmpeg: str = "ffmpeg"
    _running: dict[int, _Running] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        atexit.register(self.stop_all)

    def folder(self, camera_id: int) -> Path:
        return self.data_dir / "hls" / str(camera_id)

    def _command(self, source: str, folder: Path) -> list[str]:
        binary = shutil.which(self.ffmpeg)
        if binary is None:
            raise Conflict("本机未安装 ffmpeg，无法转发视频（Debian：apt-get install ffmpeg）")
        rtsp = source.startswith("rtsp")
        allowed = "rtsp,rtsps,tcp,udp,rtp,tls" if rtsp else "http,https,tcp,tls,crypto,hls"
        return [
            binary,
            "-nostdin",
            "-loglevel",
            "error",
            "-protocol_whitelist",
            allowed,
            *(["-rtsp_transport", "tcp"] if rtsp else []),
            "-i",
            source,
            "-map",
            "0:v:0",
            "-c:v",
            "copy",
            "-an",
            "-f",
            "hls",
            "-hls_time",
            "2",
            "-hls_list_size",
            "6",
            "-hls_flags",
            "delete_segments+omit_endlist",
            "-hls_segment_filename",
            str(folder / "seg%05d.ts"),
            str(folder / "index.m3u8"),
        ]

    def ensure(self, camera_id: int, source: str, *, wait: float = 15.0) -> Path:
        """The folder with a playlist for this camera, starting ffmpeg if it is not running."""
        self.reap()
        folder = self.folder(camera_id)
        with self._lock:
            running = self._running.get(camera_id)
            if running is None or running.process.poll() is not None:
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True, exist_ok=True)
                process = subprocess.Popen(  # noqa: S603 -- fixed argv, source checked by check_source
                    self._command(check_source(source), folder),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                running = self._running[camera_id] = _Running(process, time.monotonic(), folder)
            running.last_used = time.monotonic()
        playlist = folder / "index.m3u8"
        deadline = time.monotonic() + wait
        while not playlist.exists():
            if running.process.poll() is not None:
                raise Conflict("摄像机视频源无法打开（ffmpeg 已退出），请检查视频源地址与网络")
            if time.monotonic() > deadline:
                raise Conflict("等待摄像机视频超时，请稍后重试")
            time.sleep(0.2)
        return folder

    def touch(self, camera_id: int) -> Path | None:
        with self._lock:
            running = self._running.get(camera_id)
            if running is None:
                return None
            running.last_used = time.monotonic()
            return running.folder

    def reap(self) -> None:
        now = time.monotonic()
        with self._lock:
            for camera_id, running in list(self._running.items()):
                if now - running.last_used > self.idle_seconds or running.process.poll() is not None:
                    self._stop(running)
                    del self._running[camera_id]

    def stop_all(self) -> None:
        with self._lock:
            for running in self._running.values():
                self._stop(running)
            self._running.clear()

    @staticmethod
    def _stop(running: _Running) -> None:
        if running.process.poll() is None:
            running.process.terminate()
            try:
                running.process.wait(5)
            except subprocess.TimeoutExpired:
                running.process.kill()
        shutil.rmtree(running.folder, ignore_errors=True)


def with_token(playlist: str, token: str) -> str:
    """The playlist with each segment URI carrying the token, so the player's segment requests pass the check."""
    return "\n".join(
        f"{line}?token={token}" if line and not line.startswith("#") and SEGMENT.match(line) else line
        for line in playlist.splitlines()
    )
