"""What 视频共享 adds to the perception subsystem's declaration: permissions, roles, menu, intake channel."""

from __future__ import annotations

from zhixian.perception.cameras.service import APPROVE, EVENT, MANAGE, PLAY, REQUEST, VIEW
from zhixian.subsystems import IntakeSource, MenuItem, Permission, RoleSpec

CAMERA_PERMISSIONS = [
    Permission(VIEW, "查看摄像机目录（本部门的与已获授权的）"),
    Permission(MANAGE, "登记、导入本部门摄像机，查看其调阅记录"),
    Permission(REQUEST, "为本部门申请调阅其他部门的摄像机"),
    Permission(APPROVE, "审批本部门摄像机的调阅申请（区域授权须县级权限）"),
    Permission(PLAY, "调阅视频（须本部门或已获授权）"),
    Permission(EVENT, "视频分析设备推送事件（转城管案件）"),
]
_USER = (VIEW, REQUEST, PLAY)
CAMERA_ROLES = [
    RoleSpec("duty_officer", "值班员", _USER),
    # the shift lead may also enter an analytics event by hand (a box that reported by phone); boxes use 视频分析接入
    RoleSpec("shift_lead", "值班长", (*_USER, MANAGE, APPROVE, EVENT)),
    RoleSpec("dept_data_officer", "部门数据管理员", (*_USER, MANAGE, APPROVE)),
    RoleSpec("data_authority", "数据管理机构", (VIEW, APPROVE)),
    RoleSpec("leader", "县领导", (VIEW, PLAY)),
    RoleSpec(
        "video_integrator",
        "视频分析接入",
        (EVENT,),
        "视频平台或分析盒子的接入账号（API 令牌），只能推送视频分析事件",
    ),
]
CAMERA_MENU = [
    MenuItem("视频共享", "/perception/cameras", VIEW, "城市感知"),
    MenuItem("视频墙", "/perception/video-wall", PLAY, "城市感知"),
    MenuItem("调阅授权", "/perception/video-grants", VIEW, "城市感知"),
]
CAMERA_SOURCE = IntakeSource("video", "视频分析", EVENT)
