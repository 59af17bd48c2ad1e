"""Static assets: content-hashed URLs that browsers keep for a year, served gzip-compressed once.

``static_url("vendor/echarts/echarts.min.js")`` answers ``/static/vendor/echarts/echarts.min.js?v=<hash>``,
the hash taken from the file's content. A request that carries the current hash gets
``Cache-Control: public, max-age=31536000, immutable``: a new release changes the hash, so the browser
never asks again for the old one and never misses the new one. A URL without the hash (or with an
old one) is revalidated each time (ETag, 304).

Compressible files are gzip-compressed once per file version and kept in memory (a county's assets
are a few MB), so the 1 MB chart library is not compressed again for every phone that opens a page.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from collections.abc import Mapping
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"
HASH_LENGTH = 12
COMPRESSIBLE = (".js", ".css", ".svg", ".json", ".geojson", ".html", ".txt", ".map", ".xml")
MIN_COMPRESS_BYTES = 1024


class _FileCache:
    """Content hash and gzip body of each file version, keyed by (path, size, mtime)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hashes: dict[tuple[str, int, int], str] = {}
        self._gzipped: dict[tuple[str, int, int], bytes] = {}

    @staticmethod
    def _key(path: str, stat: os.stat_result) -> tuple[str, int, int]:
        return (path, stat.st_size, stat.st_mtime_ns)

    def digest(self, path: str, stat: os.stat_result) -> str:
        key = self._key(path, stat)
        found = self._hashes.get(key)
        if found is None:
            found = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:HASH_LENGTH]
            with self._lock:
                self._hashes = {k: v for k, v in self._hashes.items() if k[0] != path}  # drop older versions
                self._hashes[key] = found
        return found

    def gzipped(self, path: str, stat: os.stat_result) -> bytes:
        key = self._key(path, stat)
        found = self._gzipped.get(key)
        if found is None:
            found = gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0)
            with self._lock:
                self._gzipped = {k: v for k, v in self._gzipped.items() if k[0] != path}
                self._gzipped[key] = found
        return found


CACHE = _FileCache()


class AssetIndex:
    """Where each static URL prefix is served from: ``/static/<code>/`` for a subsystem's own folder,
    ``/static/`` for the shared one. Builds the hashed URLs the templates use."""

    def __init__(self, shared: Path, subsystems: Mapping[str, Path]) -> None:
        self.shared = shared
        self.subsystems = dict(subsystems)

    def file(self, relative: str) -> Path | None:
        first, _, rest = relative.partition("/")
        folder, inner = (self.subsystems[first], rest) if first in self.subsystems and rest else (self.shared, relative)
        candidate = (folder / inner).resolve()
        return candidate if candidate.is_file() and candidate.is_relative_to(folder.resolve()) else None

    def url(self, relative: str) -> str:
        """``/static/<relative>?v=<content hash>``; a missing file keeps its plain URL (it answers 404)."""
        relative = relative.lstrip("/").removeprefix("static/")
        path = self.file(relative)
        if path is None:
            return f"/static/{relative}"
        return f"/static/{relative}?v={CACHE.digest(str(path), path.stat())}"


class StaticAssets(StaticFiles):
    """StaticFiles with year-long caching for hashed URLs and a gzip body for compressible files."""

    def file_response(
        self, full_path: os.PathLike[str] | str, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        path = str(full_path)
        response = super().file_response(full_path, stat_result, scope, status_code)
        query = scope.get("query_string", b"").decode("latin-1")
        wanted = dict(p.partition("=")[::2] for p in query.split("&") if p).get("v")
        current = CACHE.digest(path, stat_result)
        response.headers["cache-control"] = IMMUTABLE if wanted == current else REVALIDATE
        response.headers["etag"] = f'"{current}"'  # by content: the same after a reinstall that only touches mtimes
        response.headers.append("vary", "Accept-Encoding")
        if response.status_code == 304 or status_code != 200:
            return response
        request = Headers(scope=scope)
        if request.get("if-none-match", "").strip().removeprefix("W/") == f'"{current}"':
            return Response(status_code=304, headers=_cache_headers(response))
        accepts = request.get("accept-encoding", "")
        if (
            "gzip" in accepts
            and path.endswith(COMPRESSIBLE)
            and stat_result.st_size >= MIN_COMPRESS_BYTES
            and "range" not in request
        ):
            body = CACHE.gzipped(path, stat_result)
            headers = _cache_headers(response)
            headers["content-encoding"] = "gzip"
            return Response(body, status_code=200, headers=headers, media_type=response.media_type)
        return response


def _cache_headers(response: Response) -> dict[str, str]:
    keep = ("cache-control", "etag", "last-modified", "vary", "content-type")
    return {k: v for k, v in response.headers.items() if k in keep}
