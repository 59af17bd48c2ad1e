"""Names of 城市感知's audit actions, object types and detail keys (see ``zhixian.labels``)."""

from __future__ import annotations

from zhixian.labels import Labels
from zhixian.perception.sensors.rules import KINDS

CATALOGUE_FORMATS = {
    "catalog": "GB/T 28181 目录 XML",
    "csv": "CSV",
    "excel": "Excel",
    "wvp": "wvp-GB28181-pro 通道 JSON",
}
GRANT_SCOPES = {"camera": "单个摄像机", "group": "业务分组/虚拟组织", "region": "行政区域"}
PLAY_MODES = {"live": "实时视频", "playback": "录像回放"}

LABELS = Labels(
    subsystem="perception",
    audit_actions={
        # 物联感知
        "perception.profile_save": "保存设备类型",
        "perception.rule_save": "保存告警规则",
        "perception.rule_delete": "删除告警规则",
        "perception.device_create": "登记感知设备",
        "perception.device_update": "修改感知设备",
        "perception.device_secret": "重置设备密钥",
        "perception.alarm_ack": "确认告警",
        "perception.alarm_assign": "指派告警",
        "perception.alarm_clear": "人工清除告警",
        # 视频共享
        "perception.camera_import": "导入摄像机目录",
        "perception.camera_classes": "设置摄像机事件的案件类别",
        "perception.camera_source": "设置摄像机视频源",
        "perception.grant_request": "申请视频调阅授权",
        "perception.grant_decide": "审批视频调阅授权",
        "perception.grant_revoke": "收回视频调阅授权",
        "perception.play_issue": "申请调阅视频",
        "perception.play_check": "视频播放鉴权",
    },
    object_types={
        "ps_profile": "设备类型",
        "ps_rule": "告警规则",
        "ps_device": "感知设备",
        "ps_alarm": "感知告警",
        "pv_camera": "摄像机",
        "pv_grant": "视频调阅授权",
    },
    # profiles are county-wide; devices, alarms and cameras are scoped to departments, so a link from the
    # audit log could answer 404 to an auditor of another department: those stay text
    object_links={"ps_profile": "/perception/profiles/{id}"},
    detail_keys={
        "profile": "设备类型",
        "device": "只对设备",
        "lon": "经度",
        "lat": "纬度",
        "address": "安装地址",
        "component_code": "关联部件编码",
        "assignee": "指派给（用户编号）",
        "regions": "行政区域",
        "groups": "分组",
        "skipped": "跳过的平台/用户条目",
        "refused": "拒收条目",
        "scope": "授权范围",
        "target": "授权对象编码",
        "purpose": "用途",
        "approve": "同意",
        "mode": "调阅方式",
        "view_id": "调阅记录编号",
        "grant_id": "授权编号",
        "server": "媒体服务器",
        "stream": "视频流",
    },
    detail_values={
        "kind": KINDS,
        "format": CATALOGUE_FORMATS,
        "scope": GRANT_SCOPES,
        "mode": PLAY_MODES,
        "server": {
            "zlm": "ZLMediaKit 媒体服务器",
            "mediamtx": "MediaMTX 媒体服务器",
            "relay": "平台转发（无媒体服务器）",
        },
    },
)
