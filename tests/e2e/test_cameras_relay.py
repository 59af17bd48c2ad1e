"""A synthetic camera (ffmpeg's test pattern) played in the browser through the platform's HLS relay with
a play token, and refused without one."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import Client, LiveServer
from tests.e2e.conftest import shot, sign_in
from tests.perception.cameras.conftest import synthetic_camera  # noqa: F401 -- the fixture
from zhixian.clock import utcnow

GROUP = "33042100002150000091"
CAMERA = "33042100081320000091"


def _camera_granted_to_gaj(server: LiveServer, source: str) -> int:
    """住建局 imports a camera with a source, 公安局 asks for its group, 住建局 approves (over the API)."""
    with Client(base_url=server.url, timeout=30) as owner, Client(base_url=server.url, timeout=30) as viewer:
        owner.login("zjj_officer")
        viewer.login("gaj_officer")
        csv = f"国标编码,名称,上级编码,状态,经度,纬度\n{GROUP},测试分组,,,,\n{CAMERA},测试图案摄像机,{GROUP},ON,120.92,30.84\n"
        imported = owner.post(
            "/api/v1/perception/cameras/import", files={"file": ("c.csv", csv.encode())}, data={"format": "csv"}
        )
        assert imported.status_code == 200, imported.text
        camera = owner.get("/api/v1/perception/cameras", params={"q": CAMERA}).json()["items"][0]
        assert owner.put(f"/api/v1/perception/cameras/{camera['id']}/source", json={"source_url": source}).is_success
        until = (utcnow() + timedelta(days=1)).isoformat()
        grant = viewer.post(
            "/api/v1/perception/video-grants",
            json={"scope": "group", "target": GROUP, "purpose": "浏览器测试调阅", "valid_until": until},
        ).json()
        decided = owner.post(f"/api/v1/perception/video-grants/{grant['id']}/decide", json={"approve": True})
        assert decided.status_code == 200, decided.text
        return int(camera["id"])


def test_a_granted_user_plays_the_relayed_camera_and_a_request_without_token_is_refused(
    new_page,
    demo_server,
    synthetic_camera,  # noqa: F811 -- the imported fixture
) -> None:
    camera_id = _camera_granted_to_gaj(demo_server, synthetic_camera)
    page = new_page()
    sign_in(page, "gaj_officer")
    page.goto(f"/perception/cameras/{camera_id}")
    page.get_by_role("button", name="调阅实时视频").click()
    page.wait_for_selector("#pv-player[data-playing]", timeout=45_000)
    assert page.evaluate("document.getElementById('pv-player').currentTime") > 0
    shot(page, "camera-relay-playing")

    bare = page.request.get(f"/perception/relay/{camera_id}/index.m3u8")
    assert bare.status == 403
    url = page.get_attribute("#pv-player", "data-hls") or ""
    tampered = page.request.get(url[:-4] + ("AAAA" if not url.endswith("AAAA") else "BBBB"))
    assert tampered.status == 403
    # the player with a token someone altered shows the refusal instead of video
    refused = new_page()
    sign_in(refused, "gaj_officer")
    refused.goto(f"/perception/cameras/{camera_id}")
    refused.route("**/index.m3u8?token=*", lambda route: route.continue_(url=route.request.url[:-4] + "AAAA"))
    refused.get_by_role("button", name="调阅实时视频").click()
    refused.wait_for_selector("#pv-player[data-error]", timeout=30_000)
    assert "无法播放" in refused.locator("#pv-status").inner_text()
    shot(refused, "camera-relay-refused")
